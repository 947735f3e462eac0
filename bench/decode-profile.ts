// `tsx bench/decode-profile.ts --model DIR`: where a decoded token's time goes, CPU against GPU, for
// one model at one context length: the wall time per token (pipelined, as the reader decodes), the
// CPU's recording time per token (forward() until its submit returns), the GPU's time per token
// (timestamp queries on the token's compute pass), the GPU time of each kernel (every dispatch timed
// in a pass of its own: adds each pass's own cost, so read it for shares, not totals), and Dawn's own
// floor (recording and running trivial dispatches). Prints a report and writes <out>.json.
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
import { AnswerDecoder } from '../src/model/answer-decoder.ts';
import { fillWithRandomKv } from './random-kv.ts';
import { passTimeline, warmUp } from './kernel-suite.ts';
import { addPipeline } from '../src/gpu/kernels/elementwise.ts';
import type { KvType } from '../src/gpu/kernels/kv-store.ts';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    contexts: { type: 'string', default: '1024' },
    tokens: { type: 'string', default: '32' },
    'weight-type': { type: 'string', default: 'f32' },
    'kv-type': { type: 'string', default: 'f16' },
    out: { type: 'string', default: 'bench/results/decode-profile-latest' },
    // fused (default) or apart: as bench/decode.ts's --projections.
    projections: { type: 'string', default: 'fused' },
    // Decoding before the timed runs, at least this long (kernel-suite.ts's warmUp says why).
    'warm-up-ms': { type: 'string', default: '1000' },
  },
});
if (args.projections !== 'fused' && args.projections !== 'apart') throw new Error('--projections must be fused or apart');
if (!args.model) throw new Error('--model DIR (a model directory in Hub layout) is required');

const gpu = await Gpu.create();
const source = openModelSource({ kind: 'directory', path: resolve(args.model) });
const config = parseModelConfig(await source.readJson('config.json'));
const weights = await loadWeights(gpu, source, config, { weightType: args['weight-type'] as WeightType, fuseProjections: args.projections === 'fused' });
const transformer = new Transformer(gpu, config, weights);
const tokens = Number(args.tokens);
const toggles = { enable: process.env.STAR_READER_DAWN_ENABLE ?? '', disable: process.env.STAR_READER_DAWN_DISABLE ?? '' };
const report: Record<string, unknown> = { adapter: gpu.adapter.description, model: args.model, weightType: args['weight-type'], kvType: args['kv-type'], projections: args.projections, toggles, floor: await dawnFloor(), contexts: [] };
console.log(`${gpu.adapter.description}; toggles ${JSON.stringify(toggles)}; ${args.model} ${args['weight-type']} weights, projections ${args.projections}, ${args['kv-type']} KV`);
console.log(`Dawn floor: ${JSON.stringify(report.floor)}`);

for (const context of args.contexts.split(',').map(Number)) {
  const shape = { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim, dtype: args['kv-type'] as KvType };
  const cache = new KvCache(gpu, shape, context + 4 * tokens + 64);
  await fillWithRandomKv(gpu, cache, context);
  let position = context;
  const step = async (id: number) => {
    const logits = await transformer.forward({ ids: [id], firstPosition: position++, cache, attention: { kind: 'causal' }, logits: 'last' });
    return logits!;
  };
  // Warm-up: pipelines, bind groups, the sampler's, and the GPU's clocks.
  for (let i = 0; i < 4; i++) await step(1);
  await warmUp(Number(args['warm-up-ms']), async () => {
    const answer = new AnswerDecoder(gpu, transformer, cache, { sampling: { temperature: 0 }, vocab: config.vocab, seen: [] });
    for (let i = 0; i < 8; i++) await answer.step([1], position++);
    await answer.end();
    cache.truncate(context + 4);
    position = cache.length;
  });

  // As the reader decodes: GPU sampler, next token queued ahead.
  const answer = new AnswerDecoder(gpu, transformer, cache, { sampling: { temperature: 0 }, vocab: config.vocab, seen: [] });
  let id = 1;
  let started = performance.now();
  for (let i = 0; i < tokens; i++) id = await answer.step([id], position++);
  await answer.end();
  position = cache.length;
  const pipelinedMs = (performance.now() - started) / tokens;

  // The same, each pass timed: the GPU's busy time per token, and its idle time between passes. A
  // pipelined decode whose GPU idles is waiting on the CPU (recording, or a readback answered late).
  gpu.startProfile(false);
  const timedAnswer = new AnswerDecoder(gpu, transformer, cache, { sampling: { temperature: 0 }, vocab: config.vocab, seen: [] });
  const stepMs: number[] = [];
  for (let i = 0; i < tokens; i++) {
    const t0 = performance.now();
    id = await timedAnswer.step([id], position++);
    stepMs.push(performance.now() - t0);
  }
  await timedAnswer.end();
  position = cache.length;
  const timeline = await gpu.stopProfile();
  const pipelinedGpu = gpuTimeline(timeline, tokens);
  stepMs.sort((a, b) => a - b);
  const stepSpread = { medianMs: stepMs[stepMs.length >> 1], maxMs: stepMs[stepMs.length - 1], minMs: stepMs[0] };

  // One token at a time: CPU recording until the submit, then the wait.
  let cpuMs = 0;
  started = performance.now();
  for (let i = 0; i < tokens; i++) {
    const t0 = performance.now();
    await step(1);
    cpuMs += performance.now() - t0;
    await gpu.finish();
  }
  const serialMs = (performance.now() - started) / tokens;
  cpuMs /= tokens;

  gpu.startProfile(false);
  for (let i = 0; i < 8; i++) {
    await step(1);
    await gpu.finish();
  }
  const passes = await gpu.stopProfile();
  const gpuMs = passes.reduce((sum, p) => sum + p.ms, 0) / 8;

  gpu.startProfile(true);
  for (let i = 0; i < 2; i++) {
    await step(1);
    await gpu.finish();
  }
  const kernels = new Map<string, { ms: number; count: number }>();
  for (const { label, ms } of await gpu.stopProfile()) {
    const k = kernels.get(label) ?? { ms: 0, count: 0 };
    k.ms += ms / 2;
    k.count += 1 / 2;
    kernels.set(label, k);
  }
  const perKernel = [...kernels.entries()].sort((a, b) => b[1].ms - a[1].ms).map(([label, k]) => ({ label, ms: k.ms, count: k.count }));
  const row = { context, pipelinedMs, tokensPerSecond: 1000 / pipelinedMs, serialMs, cpuRecordMs: cpuMs, gpuMsPerToken: gpuMs, pipelinedGpu, stepSpread, perKernel };
  (report.contexts as unknown[]).push(row);
  console.log(`context ${context}: pipelined ${pipelinedMs.toFixed(2)} ms/token (${(1000 / pipelinedMs).toFixed(1)} tok/s); serial ${serialMs.toFixed(2)} ms; CPU recording ${cpuMs.toFixed(2)} ms; GPU ${gpuMs.toFixed(2)} ms`);
  console.log(
    `   pipelined, passes timed: GPU busy ${pipelinedGpu.busyMsPerToken.toFixed(2)} ms/token, idle between passes ${pipelinedGpu.idleMsPerToken.toFixed(2)} ms/token ` +
      `(longest gaps ${pipelinedGpu.longestGapsMs.map((g) => g.toFixed(2)).join(', ')} ms); step() took ${stepSpread.minMs.toFixed(2)}/${stepSpread.medianMs.toFixed(2)}/${stepSpread.maxMs.toFixed(2)} ms min/median/max`,
  );
  for (const k of perKernel) console.log(`   ${k.label.padEnd(28)} ${k.ms.toFixed(3)} ms in ${k.count} dispatches`);
  cache.destroy();
}

await mkdir(resolve(args.out, '..'), { recursive: true });
await writeFile(`${args.out}.json`, `${JSON.stringify(report, null, 2)}\n`);
transformer.destroy();
weights.destroy();
gpu.destroy();
process.exit(0);

/** Busy and idle GPU time per token from a run's timed passes (in submission order). */
function gpuTimeline(passes: readonly { ms: number; startMs: number }[], tokens: number) {
  const { count, busyMs, idleMs, gapsMs } = passTimeline(passes);
  return { passes: count, busyMsPerToken: busyMs / tokens, idleMsPerToken: idleMs / tokens, longestGapsMs: gapsMs.slice(0, 5) };
}

/** Dawn's own cost: `count` trivial dispatches (two pipelines' worth of bind groups) recorded, submitted and waited for. */
async function dawnFloor(count = 400): Promise<{ dispatches: number; recordMs: number; totalMs: number; gpuMs: number }> {
  const a = gpu.tensorFrom(new Float32Array(256), 'f32', [256]);
  const b = gpu.tensorFrom(new Float32Array(256), 'f32', [256]);
  const pipeline = addPipeline(gpu);
  const params = gpu.uniform([['u32', 256]]);
  const once = async (profile: boolean) => {
    if (profile) gpu.startProfile(false);
    const t0 = performance.now();
    const encoder = gpu.encoder();
    for (let i = 0; i < count; i++) gpu.dispatch(encoder, pipeline, i % 2 ? [params, a.buffer, b.buffer] : [params, b.buffer, a.buffer], [1]);
    gpu.submit(encoder);
    const t1 = performance.now();
    await gpu.finish();
    const t2 = performance.now();
    const gpuMs = profile ? (await gpu.stopProfile()).reduce((s, p) => s + p.ms, 0) : 0;
    return { recordMs: t1 - t0, totalMs: t2 - t0, gpuMs };
  };
  for (let i = 0; i < 3; i++) await once(false);
  const timed = await once(false);
  const profiled = await once(true);
  a.buffer.destroy();
  b.buffer.destroy();
  return { dispatches: count, recordMs: timed.recordMs, totalMs: timed.totalMs, gpuMs: profiled.gpuMs };
}

