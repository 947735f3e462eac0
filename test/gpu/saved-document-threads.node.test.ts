// Saved documents with hosts in Node worker_threads: a folder store the threads cannot open themselves,
// so each shard crosses to the main thread through a comlink proxy, in pieces, both ways.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createReader } from '../../src/star/reader.ts';
import { openThreadHost } from '../../src/star/thread-host.ts';
import { folderDocumentStore } from '../../src/star/document-store.node.ts';
import type { Reader, SavingReader } from '../../src/star/reader-api.ts';

const demo = decodeURIComponent(new URL('../../public/models/demo/', import.meta.url).pathname);

async function answer(reader: Reader, question: string): Promise<string> {
  let text = '';
  for await (const piece of reader.ask(question, { maxTokens: 8, sampling: { temperature: 0 } })) text += piece;
  return text;
}

describe('saved documents with hosts in worker_threads', () => {
  let reader: SavingReader | undefined;
  afterAll(async () => reader?.dispose());

  it('saves through the main thread, reopens with the same answer, and reports a damaged shard', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'star-reader-saved-threads-'));
    reader = await createReader({ model: { kind: 'directory', path: demo }, hosts: 2, blockSize: 128, openHost: openThreadHost, documentStore: folderDocumentStore(folder) });
    await reader.loadDocument('A keeper of lighthouses wrote down every ship. '.repeat(10));
    const before = await answer(reader, 'What did he write?');
    const saved = await reader.saveDocument('Threads');
    await reader.openSavedDocument(saved.id);
    expect(await answer(reader, 'What did he write?')).toBe(before);

    const shard = join(folder, saved.id, 'host-0.kv');
    const bytes = await readFile(shard);
    bytes[100] ^= 1;
    await writeFile(shard, bytes);
    await expect(reader.openSavedDocument(saved.id)).rejects.toThrow(/host-0\.kv is corrupted: bytes 0–\d+ do not match their checksum/);
    expect(await answer(reader, 'What did he write?')).toBe(before);
  });
});
