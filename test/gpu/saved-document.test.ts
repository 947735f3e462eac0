// Saved documents end to end on the demo model: save the encoded document, close the reader, open a
// new one, reopen it without phase 1 and get the same greedy answers; and every way a saved entry can
// be wrong (another model or setting, a corrupted or truncated shard, a save cut short) is refused
// with its reason while the open document stays usable.
// Node: in-process hosts and a folder store; Chromium: hosts in Workers writing to OPFS themselves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReader } from '../../src/star/reader.ts';
import type { Reader, SavingReader } from '../../src/star/reader-api.ts';
import type { ModelSource } from '../../src/model/source/model-source.ts';
import type { DocumentStore, SavedManifest, ShardWriter } from '../../src/star/document-store.ts';
import { opfsDocumentStore } from '../../src/star/document-store.opfs.ts';
import { inBrowser } from '../support/gpu.ts';

const demo: ModelSource = inBrowser
  ? { kind: 'url', base: new URL('/models/demo/', location.origin).href }
  : { kind: 'directory', path: decodeURIComponent(new URL('../../public/models/demo/', import.meta.url).pathname) };

const document = 'The lighthouse keeper counted ships every night, and wrote their names in a book. '.repeat(48);

async function testStore(): Promise<DocumentStore> {
  if (inBrowser) return opfsDocumentStore({ kind: 'opfs', directory: `saved-document-test-${Date.now()}` });
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { folderDocumentStore } = await import('../../src/star/document-store.node.ts');
  return folderDocumentStore(await mkdtemp(`${tmpdir()}/star-reader-saved-`));
}

async function answer(reader: Reader, question: string): Promise<string> {
  let text = '';
  for await (const piece of reader.ask(question, { maxTokens: 12, sampling: { temperature: 0 } })) text += piece;
  return text;
}

/** A conversation of a question and a follow-up, greedy. */
async function conversation(reader: Reader): Promise<string[]> {
  return [await answer(reader, 'Who counted the ships?'), await answer(reader, 'And where did he write them?')];
}

async function readAll(store: DocumentStore, id: string, file: string): Promise<Uint8Array> {
  const reader = await store.openReader(id, file);
  const bytes = await reader.read(reader.size);
  await reader.close();
  return bytes;
}

async function writeAll(store: DocumentStore, id: string, file: string, bytes: Uint8Array): Promise<void> {
  const writer = await store.openWriter(id, file);
  await writer.write(bytes);
  await writer.close();
}

/** Faults to inject into a store: a quota that fills after `writeLimit` bytes, a tab closed before the commit. */
interface Faults {
  writeLimit: number;
  tabClosed: boolean;
  /** A quota the store reports (with nothing else used), as navigator.storage.estimate does. */
  quotaBytes?: number;
}

/** `store` with `faults` applied while they are set. A full quota is simulated in this thread, so it drops hostLocation. */
function faultyStore(store: DocumentStore, faults: Faults): DocumentStore {
  return {
    ...store,
    get hostLocation() {
      return faults.writeLimit === Infinity ? store.hostLocation : undefined;
    },
    async openWriter(id, file): Promise<ShardWriter> {
      const writer = await store.openWriter(id, file);
      let written = 0;
      return {
        async write(bytes) {
          written += bytes.byteLength;
          if (written > faults.writeLimit) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
          await writer.write(bytes);
        },
        close: () => writer.close(),
        abort: () => writer.abort(),
      };
    },
    usage: async () => ({ ...(await store.usage()), ...(faults.quotaBytes === undefined ? {} : { quotaBytes: faults.quotaBytes, originUsageBytes: 0 }) }),
    commit: (manifest) => (faults.tabClosed ? Promise.reject(new Error('the tab was closed')) : store.commit(manifest)),
    remove: (id) => (faults.tabClosed ? Promise.reject(new Error('the tab was closed')) : store.remove(id)),
  };
}

describe('saved documents on the demo model', () => {
  let store: DocumentStore;
  let reader: SavingReader;
  let before: string[];
  let savedId: string;
  let tokens: number;
  const faults: Faults = { writeLimit: Infinity, tabClosed: false, quotaBytes: undefined };
  const open = () => createReader({ model: demo, hosts: 2, blockSize: 256, documentStore: faultyStore(store, faults) });

  beforeAll(async () => {
    store = await testStore();
    reader = await open();
  });
  afterAll(async () => {
    await reader?.dispose();
    for (const entry of (await store?.list()) ?? []) await store.remove(entry.id);
  });

  it('reopens a saved document in a new reader, without phase 1, and answers exactly as before closing', async () => {
    const stats = await reader.loadDocument(document);
    tokens = stats.tokens;
    expect(stats.blocks).toBeGreaterThan(2);
    before = await conversation(reader);
    expect(before[0].length).toBeGreaterThan(0);
    // Saved after the conversation: the document is kept, not the questions after it.
    const saved = await reader.saveDocument('  Lighthouse log ');
    savedId = saved.id;
    expect(saved).toMatchObject({ name: 'Lighthouse log', modelType: 'qwen2', weightType: 'f32', tokens, attention: 'star', hosts: 2, problem: undefined });
    const kvBytes = stats.kvBytesPerHost.reduce((a, b) => a + b, 0);
    // The shards hold the document's rows only (the query host's KV also held the conversation).
    expect(saved.bytes).toBeGreaterThan((kvBytes * tokens) / (tokens + 1024) - 1);
    await reader.dispose();

    reader = await open();
    const listed = await reader.listSavedDocuments();
    expect(listed.map((d) => d.id)).toEqual([savedId]);
    expect(listed[0]).toMatchObject({ name: 'Lighthouse log', tokens, problem: undefined });
    const reopened = await reader.openSavedDocument(savedId);
    expect(reopened).toMatchObject({ tokens, name: 'Lighthouse log', document, encoded: { tokens, blocks: stats.blocks, hosts: 2 } });
    expect(reopened.reopenMs).toBeGreaterThan(0);
    expect(await conversation(reader)).toEqual(before);
    // Reopening again starts a fresh conversation on the same document.
    await reader.openSavedDocument(savedId);
    expect(await conversation(reader)).toEqual(before);
  });

  it('refuses, with the reason, a document read with other settings, another weight type or another model', async () => {
    await expect(reader.openSavedDocument(savedId, { blockSize: 128 })).rejects.toThrow(/blockSize 256, the reader asks for 128/);
    await expect(reader.openSavedDocument(savedId, { attention: 'full' })).rejects.toThrow(/attention star, the reader asks for full/);
    const manifest = await store.readManifest(savedId);
    const edited = async (change: (m: SavedManifest) => SavedManifest) => {
      await store.commit(change(structuredClone(manifest)));
      return reader.openSavedDocument(savedId);
    };
    await expect(edited((m) => ({ ...m, model: { ...m.model, weightType: 'f16' } }))).rejects.toThrow(/encoded with f16 weights, the model is loaded with f32/);
    const otherConfig = (m: SavedManifest) => ({
      ...m,
      model: { ...m.model, files: m.model.files.map((f) => (f.path === 'config.json' ? { ...f, sha256: '0'.repeat(64) } : f)) },
    });
    await expect(edited(otherConfig)).rejects.toThrow(/encoded by another model .*config\.json differ/);
    expect((await reader.listSavedDocuments())[0].problem).toMatch(/another model/);
    await store.commit(manifest);
    expect((await reader.listSavedDocuments())[0].problem).toBeUndefined();
    // Nothing was replaced: the document opened before still answers the same.
    await reader.openSavedDocument(savedId);
    expect(await answer(reader, 'Who counted the ships?')).toBe(before[0]);
  });

  it('a corrupted or truncated shard is reported and never read as KV; the open document stays', async () => {
    const copy = await reader.saveDocument('Copy to damage');
    await reader.openSavedDocument(savedId);
    const shard = (await store.readManifest(copy.id)).shards[1].file;
    const bytes = await readAll(store, copy.id, shard);
    const flipped = bytes.slice();
    flipped[Math.floor(bytes.length / 2)] ^= 0x10;
    await writeAll(store, copy.id, shard, flipped);
    await expect(reader.openSavedDocument(copy.id)).rejects.toThrow(new RegExp(`${shard} is corrupted: bytes \\d+–\\d+ do not match their checksum`));
    await writeAll(store, copy.id, shard, bytes.subarray(0, bytes.length - 4096));
    await expect(reader.openSavedDocument(copy.id)).rejects.toThrow(/truncated or changed/);
    expect(await answer(reader, 'Who counted the ships?')).toBe(before[0]);
    await reader.deleteSavedDocument(copy.id);
    expect((await reader.listSavedDocuments()).map((d) => d.id)).toEqual([savedId]);
  });

  it('a save the quota cannot hold is refused before anything is written', async () => {
    // Half a megabyte: the document's f16 KV is about 1 MB.
    faults.quotaBytes = 500_000;
    try {
      await expect(reader.saveDocument('Too big')).rejects.toThrow(/Saving needs [\d.]+ MB but the browser leaves this site 0\.5 MB/);
    } finally {
      faults.quotaBytes = undefined;
    }
    expect((await store.list()).map((e) => e.id)).toEqual([savedId]);
  });

  it('a save cut short by a full quota leaves no entry', async () => {
    faults.writeLimit = 64 << 10;
    try {
      await expect(reader.saveDocument('Too big')).rejects.toThrow(/quota/);
    } finally {
      faults.writeLimit = Infinity;
    }
    expect((await reader.listSavedDocuments()).map((d) => d.name)).toEqual(['Lighthouse log']);
  });

  it('a save stopped before its manifest (a closed tab) is listed as incomplete and refused', async () => {
    faults.tabClosed = true;
    try {
      await expect(reader.saveDocument('Never committed')).rejects.toThrow(/tab was closed/);
    } finally {
      faults.tabClosed = false;
    }
    const incomplete = (await reader.listSavedDocuments()).find((d) => d.id !== savedId);
    expect(incomplete).toMatchObject({ name: '', tokens: 0 });
    expect(incomplete!.problem).toMatch(/never finished/);
    expect(incomplete!.bytes).toBeGreaterThan(0);
    await expect(reader.openSavedDocument(incomplete!.id)).rejects.toThrow(/No complete saved document/);
    expect(await answer(reader, 'Who counted the ships?')).toBe(before[0]);
    await reader.deleteSavedDocument(incomplete!.id);
    expect((await reader.listSavedDocuments()).map((d) => d.id)).toEqual([savedId]);
  });
});
