// `generate --kv-cache DIR`: the encoded document kept in a folder. A folder already holding this
// document (the same text) reopens it without phase 1 — refused, with the reason, when the model,
// weight type or settings differ; otherwise phase 1 runs and the result is saved there.
import { basename } from 'node:path';
import type { EncodeChoices, SavingReader } from '../star/reader-api.ts';
import type { DocumentStore } from '../star/document-store.ts';

/** Reads `document` into the reader from the store, or encodes and saves it; returns the line to print. */
export async function openOrEncode(reader: SavingReader, store: DocumentStore, document: { path: string; text: string }, choices: EncodeChoices): Promise<string> {
  const saved = (await store.list()).find((e) => e.manifest?.reader.document === document.text);
  if (saved) {
    const stats = await reader.openSavedDocument(saved.id, choices);
    return `[reopened ${stats.tokens} tokens from ${store.name} in ${stats.reopenMs.toFixed(0)} ms, without phase 1]`;
  }
  const stats = await reader.loadDocument(document.text, choices);
  const started = performance.now();
  const entry = await reader.saveDocument(basename(document.path));
  return (
    `[read ${stats.tokens} tokens in ${stats.encodeMs.toFixed(0)} ms: ${stats.attention} attention, ${stats.blocks} block(s), ${stats.hosts} host(s); ` +
    `saved to ${store.name} (${entry.bytes} bytes) in ${(performance.now() - started).toFixed(0)} ms]`
  );
}
