// `tsx bench/prefill-profile.ts --model DIR`: where a prefill's time goes, for one model at a few
// context lengths, with full attention and with Star Attention's phase 1 (b = n / divisor): the wall
// time of the encode (second run: pipelines compiled), the GPU's busy and idle time over its passes
// (timestamp queries on every compute pass: idle is the GPU waiting on the CPU), and the GPU time of
// each kernel (every dispatch timed in a pass of its own, which adds each pass's own cost: read it for
// shares, not totals). Prints a report and writes <out>.json.
// Dawn quantizes timestamps unless STAR_READER_DAWN_DISABLE=timestamp_quantization is set.
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Gpu } from '../src/gpu/gpu.ts';
import { parseModelConfig } from '../src/model/config.ts';
import { KvCache } from '../src/model/kv-cache.ts';
import { openModelSource } from '../src/model/source/model-source.ts';
import { Transformer } from '../src/model/transformer.ts';
import { loadWeights, type WeightType } from '../src/model/weights.ts';
import type { KvType } from '../src/gpu/kernels/kv-store.ts';
import { passTimeline } from './kernel-suite.ts';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    lengths: { type: 'string', default: '4096' },
    // 0 is full attention; d > 0 is Star Attention's phase 1 with blocks of n / d tokens.
    divisors: { type: 'string', default: '0,16' },
    'weight-type': { type: 'string', default: 'bf16' },
    'kv-type': { type: 'string', default: 'f16' },
    // Per-dispatch timing of lengths above this is skipped (one pass a dispatch: tens of thousands).
    'profile-up-to': { type: 'string', default: '16384' },
    // Rows of a forward piece (Transformer's maxRows), comma-separated: each a run of its own.
    // Default: the Transformer's own (defaultPieceRows: 2,048 on a GPU for these layouts, 512 on a CPU adapter).
    'max-rows': { type: 'string' },
    out: { type: 'string', default: 'bench/results/prefill-profile-latest' },
  },
});
if (!args.model) throw new Error('--model DIR (a model directory in Hub layout) is required');

const gpu = await Gpu.create();
const source = openModelSource({ kind: 'directory', path: resolve(args.model) });
const config = parseModelConfig(await source.readJson('config.json'));
const weights = await loadWeights(gpu, source, config, { weightType: args['weight-type'] as WeightType, fuseProjections: true });
const shape = { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim, dtype: args['kv-type'] as KvType };
const report = { adapter: gpu.adapter.description, model: args.model, weightType: args['weight-type'], kvType: args['kv-type'], runs: [] as unknown[] };
console.log(`${gpu.adapter.description}; ${args.model} ${args['weight-type']} weights, ${args['kv-type']} KV`);

for (const asked of args['max-rows']?.split(',').map(Number) ?? [undefined]) {
  const transformer = new Transformer(gpu, config, weights, { maxRows: asked });
  const { maxRows } = transformer;
  for (const length of args.lengths.split(',').map(Number)) {
    for (const divisor of args.divisors.split(',').map(Number)) {
      const run = await profileEncode(transformer, length, divisor);
      report.runs.push({ maxRows, ...run });
      console.log(`${length} tokens, ${run.mode}, pieces of ${maxRows} rows: wall ${run.wallMs.toFixed(1)} ms; GPU busy ${run.passes.busyMs.toFixed(1)} ms, idle ${run.passes.idleMs.toFixed(1)} ms over ${run.passes.count} passes`);
      const kernelTotal = run.perKernel.reduce((s, k) => s + k.ms, 0);
      for (const k of run.perKernel) console.log(`   ${k.label.padEnd(32)} ${k.ms.toFixed(2).padStart(9)} ms ${((100 * k.ms) / kernelTotal).toFixed(1).padStart(5)}% in ${k.count} dispatches`);
    }
  }
  transformer.destroy();
}

await mkdir(resolve(args.out, '..'), { recursive: true });
await writeFile(`${args.out}.json`, `${JSON.stringify(report, null, 2)}\n`);
weights.destroy();
gpu.destroy();
process.exit(0);

/** Times one encode of `length` tokens: full attention (divisor 0) or Star Attention with blocks of length / divisor. */
async function profileEncode(transformer: Transformer, length: number, divisor: number) {
  const ids = Array.from({ length }, (_, i) => (i * 7919 + 13) % config.vocab);
  const blockSize = divisor > 0 ? Math.max(128, Math.floor(length / divisor)) : length;
  const encode = () => encodeDocument(transformer, ids, blockSize);
  await encode(); // pipelines and bind groups
  const started = performance.now();
  await encode();
  const wallMs = performance.now() - started;

  gpu.startProfile(false, 1 << 15);
  await encode();
  const { count, busyMs, idleMs } = passTimeline(await gpu.stopProfile());
  const passes = { count, busyMs, idleMs };

  let perKernel: { label: string; ms: number; count: number }[] = [];
  if (length <= Number(args['profile-up-to'])) {
    gpu.startProfile(true, 1 << 16);
    await encode();
    const kernels = new Map<string, { ms: number; count: number }>();
    for (const { label, ms } of await gpu.stopProfile()) {
      const k = kernels.get(label) ?? { ms: 0, count: 0 };
      k.ms += ms;
      k.count++;
      kernels.set(label, k);
    }
    perKernel = [...kernels.entries()].sort((a, b) => b[1].ms - a[1].ms).map(([label, k]) => ({ label, ...k }));
  }
  return { length, mode: divisor > 0 ? `star b=${blockSize}` : 'full', blockSize, wallMs, passes, perKernel };
}

/** One document encoded as a host does it (src/star/host.ts): full is one causal pass; star encodes block 0 alone, then every later block over [anchor ; block]. */
async function encodeDocument(transformer: Transformer, ids: readonly number[], blockSize: number): Promise<void> {
  const cache = new KvCache(gpu, shape, ids.length, blockSize);
  const first = Math.min(blockSize, ids.length);
  await transformer.forward({ ids: ids.slice(0, first), firstPosition: 0, cache, attention: { kind: 'causal' }, logits: 'none' });
  if (first < ids.length) {
    const attention = { kind: 'star-blocks' as const, blockSize, anchorRows: blockSize, anchorCache: cache };
    await transformer.forward({ ids: ids.slice(first), firstPosition: first, cache, attention, logits: 'none' });
  }
  await gpu.finish();
  cache.destroy();
}
