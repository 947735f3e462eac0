// `star-reader score`: context and query token ids in, logits and greedy ids out (a safetensors
// file). This is how correctness is checked against transformers (test/fixtures/hf-golden).
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { asUsage, parseOptions, UsageError, type OptionSpec } from './args.ts';
import { StarEngine } from '../star/star-engine.ts';
import { openLocalHost } from '../star/local-host.ts';
import { scoreGreedy } from '../star/greedy-score.ts';
import { encodeSafetensors } from '../model/safetensors-writer.ts';
import { defaultKvType, parseKvType } from '../model/kv-cache.ts';
import type { KvType } from '../gpu/kernels/kv-store.ts';

export const scoreOptions = {
  model: { type: 'string', required: true, help: 'model directory in Hub layout (config.json + safetensors)' },
  'context-ids': { type: 'string', required: true, help: 'JSON array of context token ids (positions 0..n-1)' },
  'query-ids': { type: 'string', required: true, help: 'JSON array of query token ids (positions n…)' },
  generate: { type: 'number', default: 0, help: 'greedy tokens to generate after the query, each fed back' },
  attention: { type: 'string', default: 'star', help: 'star or full' },
  'block-size': { type: 'number', help: 'Star Attention block size (default: chosen from the context length)' },
  'anchor-size': { type: 'number', help: 'anchor size ≤ block size (default: the block size)' },
  hosts: { type: 'number', default: 1, help: 'Star Attention hosts, each with its own GPU device' },
  adapters: { type: 'string', help: 'comma-separated adapter names (parts of), host i on the i-th modulo their count: several GPUs at once' },
  'weight-type': { type: 'string', default: 'f32', help: 'f32 or f16 weights on the GPU' },
  'kv-cache-type': { type: 'string', default: defaultKvType, help: 'element type of the KV cache on the GPU: f16 (half the memory) or f32 (exact)' },
  'rope-dtype': {
    type: 'string',
    default: 'f32',
    help: 'round RoPE frequencies through f32, bf16 or f16, as transformers does for a model cast with .to(dtype) (the hf-golden fixtures were)',
  },
  'max-rows': { type: 'number', default: 512, help: 'rows per forward piece (bounds GPU memory and work per submission)' },
  out: { type: 'string', required: true, help: 'output .safetensors: logits f32 [query+N, vocab], ids i32 [N]' },
} satisfies OptionSpec;

export async function score(argv: readonly string[]): Promise<void> {
  const o = parseOptions(argv, scoreOptions);
  if (o.attention !== 'star' && o.attention !== 'full') throw new UsageError(`--attention must be star or full, got "${o.attention}"`);
  if (o['weight-type'] !== 'f32' && o['weight-type'] !== 'f16') throw new UsageError('--weight-type must be f32 or f16');
  const ropeDType = o['rope-dtype'];
  if (ropeDType !== 'f32' && ropeDType !== 'bf16' && ropeDType !== 'f16') throw new UsageError('--rope-dtype must be f32, bf16 or f16');
  const kvType: KvType = asUsage(() => parseKvType(o['kv-cache-type']));
  const contextIds = await readIds(o['context-ids']);
  const queryIds = await readIds(o['query-ids']);
  if (queryIds.length === 0) throw new UsageError('--query-ids must hold at least one token');

  const engine = await StarEngine.create({
    model: { kind: 'directory', path: resolve(o.model) },
    hosts: o.hosts,
    adapters: o.adapters?.split(',').map((name) => ({ name: name.trim() })),
    attention: o.attention,
    blockSize: o['block-size'],
    anchorSize: o['anchor-size'],
    weightType: o['weight-type'],
    kvType,
    ropeDType,
    maxRows: o['max-rows'],
    conversationRoom: queryIds.length + o.generate,
    openHost: openLocalHost,
  });
  try {
    const vocab = engine.info.config.vocab;
    const stats = await engine.encode(contextIds);
    const { logits, ids } = await scoreGreedy(engine, queryIds, o.generate);
    await writeFile(
      o.out,
      encodeSafetensors({
        logits: { dtype: 'F32', shape: [queryIds.length + o.generate, vocab], data: logits },
        ids: { dtype: 'I32', shape: [ids.length], data: ids },
      }),
    );
    console.error(
      `${o.attention} attention, ${stats.blocks} block(s) of ${stats.blockSize}, ${stats.hosts} host(s): ` +
        `encoded ${stats.tokens} tokens in ${stats.encodeMs.toFixed(0)} ms; wrote ${o.out}`,
    );
  } finally {
    await engine.dispose();
  }
}

async function readIds(path: string): Promise<number[]> {
  const json: unknown = JSON.parse(await readFile(path, 'utf8'));
  if (!Array.isArray(json) || !json.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new UsageError(`${path} must hold a JSON array of non-negative integer token ids`);
  }
  return json as number[];
}
