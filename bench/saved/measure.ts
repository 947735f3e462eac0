// Save and reopen time against phase-1 time for the same document, on the engine (token ids, the
// synthetic model with Qwen2.5-0.5B's attention layout). Shared by the Node runner (folder store,
// in-process hosts) and the browser page (OPFS, hosts in Workers). After reopening, a short query's
// logits must be bit-identical to those computed right after phase 1, or the measurement fails.
import { StarEngine } from '../../src/star/star-engine.ts';
import { modelIdentity, newDocumentId, type DocumentStore } from '../../src/star/document-store.ts';
import type { ModelFiles } from '../../src/model/source/model-files.ts';
import { uniformStream } from '../../src/model/synthetic-weights.ts';

export interface SaveReopenRow {
  tokens: number;
  blockSize: number;
  hosts: number;
  encodeMs: number;
  saveMs: number;
  reopenMs: number;
  shardBytes: number;
}

export interface SaveReopenOptions {
  lengths: number[];
  blockSize: (tokens: number) => number;
  hosts: number;
  say: (line: string) => void;
}

const queryTokens = 8;

export async function measureSaveReopen(
  openEngine: () => Promise<StarEngine>,
  source: ModelFiles,
  store: DocumentStore,
  options: SaveReopenOptions,
): Promise<SaveReopenRow[]> {
  const rows: SaveReopenRow[] = [];
  for (const tokens of options.lengths) {
    let engine = await openEngine();
    const config = engine.info.config;
    const random = uniformStream(tokens);
    const ids = Array.from(random(tokens + queryTokens, 0.5, 0.5), (u) => Math.floor(u * config.vocab) % config.vocab);
    const document = ids.slice(0, tokens);
    const blockSize = options.blockSize(tokens);
    options.say(`${tokens} tokens: phase 1 (block ${blockSize}, ${options.hosts} host(s))…`);
    const stats = await engine.encode(document, { attention: 'star', blockSize, hosts: options.hosts });
    const mark = await engine.checkpoint();
    const before = await engine.feed(ids.slice(tokens));
    await engine.rollBack(mark);
    const model = await modelIdentity(source, config.modelType, 'f32');
    options.say(`  phase 1 ${stats.encodeMs.toFixed(0)} ms; saving…`);
    const id = newDocumentId();
    let started = performance.now();
    const manifest = await engine.saveDocument({ store, id, name: `${tokens} tokens`, model, tokenIds: document, reader: { document: '', fed: '', encoded: stats } });
    const saveMs = performance.now() - started;
    await engine.dispose();
    // A new engine, as after a reload: loading the model is not part of reopening.
    engine = await openEngine();
    options.say(`  saved in ${saveMs.toFixed(0)} ms; reopening…`);
    started = performance.now();
    await engine.restoreDocument(store, await store.readManifest(id));
    const reopenMs = performance.now() - started;
    const after = await engine.feed(ids.slice(tokens));
    await engine.dispose();
    await store.remove(id);
    if (!sameBits(before, after)) throw new Error(`${tokens} tokens: logits after reopening differ from those after phase 1`);
    options.say(`  reopened in ${reopenMs.toFixed(0)} ms: phase 1 / reopen = ${(stats.encodeMs / reopenMs).toFixed(1)}×`);
    const shardBytes = manifest.shards.reduce((sum, s) => sum + s.bytes, 0);
    rows.push({ tokens, blockSize, hosts: options.hosts, encodeMs: stats.encodeMs, saveMs, reopenMs, shardBytes });
  }
  return rows;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export function formatSaveReopenRows(adapter: string, store: string, rows: SaveReopenRow[]): string {
  const lines = [
    `${adapter}; store: ${store}`,
    '',
    '| tokens | block | hosts | KV on disk | phase 1 ms | save ms | reopen ms | phase 1 / reopen | phase 1 / save |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.tokens} | ${r.blockSize} | ${r.hosts} | ${(r.shardBytes / 2 ** 20).toFixed(1)} MiB | ${r.encodeMs.toFixed(0)} | ${r.saveMs.toFixed(0)} | ${r.reopenMs.toFixed(0)} | ${(r.encodeMs / r.reopenMs).toFixed(1)}× | ${(r.encodeMs / r.saveMs).toFixed(1)}× |`,
    ),
  ];
  return lines.join('\n');
}
