// `npm run bench:decode -- --model DIR`: decode speed of one model at several context lengths, in Node
// (Dawn), greedy, two ways in the same run: as the query host answers (src/model/answer-decoder.ts:
// the id chosen on the GPU, the next token queued before it is read back) and the CPU way (every
// logit read back, argmax on the CPU); with the per-token breakdown (dispatches, passes, submits,
// waits, bind groups made, bytes read back). The KV cache is filled with random keys and values instead of
// encoding a document: decode time does not depend on what the keys say, and a 64K-token encode
// would cost minutes. Writes <out>.json and <out>.md (default bench/results/decode-latest).
// `--projections apart` loads every projection as its own matrix (no fused q, k, v or gate, up): run
// it beside the default to compare the two in one build.
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Gpu } from '../src/gpu/gpu.ts';
import { parseModelConfig } from '../src/model/config.ts';
import { KvCache } from '../src/model/kv-cache.ts';
import { kvTypes, type KvType } from '../src/gpu/kernels/kv-store.ts';
import { openModelSource } from '../src/model/source/model-source.ts';
import { Transformer } from '../src/model/transformer.ts';
import { loadWeights, type WeightType } from '../src/model/weights.ts';
import { AnswerDecoder } from '../src/model/answer-decoder.ts';
import { kernelChoices } from '../src/model/kernel-choices.ts';
import { warmUp } from './kernel-suite.ts';
import { fillWithRandomKv } from './random-kv.ts';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    contexts: { type: 'string', default: '1024,16384,65536' },
    tokens: { type: 'string', default: '64' },
    'weight-type': { type: 'string', default: 'f32' },
    // f32 keeps the figures comparable with earlier runs; the app's default is f16 (defaultKvType).
    'kv-type': { type: 'string', default: 'f32' },
    // Tokens of one full causal forward from position 0, timed after a warm-up run (0: none).
    prefill: { type: 'string', default: '0' },
    out: { type: 'string', default: 'bench/results/decode-latest' },
    /** Also times the GPU-sampler way with citations recorded (Transformer.startCitations), in the same run. */
    citations: { type: 'boolean', default: false },
    // fused: q, k, v and gate, up as one matrix each where they can be (the engine's way); apart: every
    // projection its own, as before fusion (LoadWeightsOptions.fuseProjections), to compare in one build.
    projections: { type: 'string', default: 'fused' },
    // gpu: only the engine's way (the GPU sampler); both: also every logit read back, the CPU way.
    ways: { type: 'string', default: 'both' },
    // Decoding before each timed run, at least this long (kernel-suite.ts's warmUp says why).
    'warm-up-ms': { type: 'string', default: '1000' },
  },
});
if (!args.model) throw new Error('--model DIR (a model directory in Hub layout) is required');

interface DecodeRow {
  context: number;
  way: 'gpu sampler, queued ahead' | 'gpu sampler, citations' | 'logits read back';
  tokens: number;
  tokensPerSecond: number;
  msPerToken: number;
  perToken: Record<string, number>;
}

const gpu = await Gpu.create();
const source = openModelSource({ kind: 'directory', path: resolve(args.model) });
const config = parseModelConfig(await source.readJson('config.json'));
const weightType = args['weight-type'] as WeightType;
const kvType = args['kv-type'] as KvType;
if (!kvTypes.includes(kvType)) throw new Error(`--kv-type must be one of ${kvTypes.join(', ')}`);
if (args.projections !== 'fused' && args.projections !== 'apart') throw new Error('--projections must be fused or apart');
if (args.ways !== 'gpu' && args.ways !== 'both') throw new Error('--ways must be gpu or both');
const loadStarted = performance.now();
const weights = await loadWeights(gpu, source, config, { weightType, fuseProjections: args.projections === 'fused' });
console.error(`loaded ${args.model} (${(weights.bytes / 2 ** 30).toFixed(2)} GiB as ${weightType}, projections ${args.projections}) in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s on ${gpu.adapter.description}`);
const transformer = new Transformer(gpu, config, weights);
const tokens = Number(args.tokens);
const kvShape = { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim, dtype: kvType };
const prefill = Number(args.prefill) > 0 ? await timePrefill(Number(args.prefill)) : undefined;
if (prefill) console.error(`  prefill ${prefill.tokens} tokens: ${prefill.ms.toFixed(1)} ms`);
const rows: DecodeRow[] = [];
for (const context of args.contexts.split(',').map(Number)) {
  const cache = new KvCache(gpu, kvShape, context + tokens + 8);
  await fillWithRandomKv(gpu, cache, context);
  const ways: DecodeRow['way'][] = ['gpu sampler, queued ahead', ...(args.citations ? (['gpu sampler, citations'] as const) : []), ...(args.ways === 'both' ? (['logits read back'] as const) : [])];
  for (const way of ways) {
    // Compiles pipelines, makes bind groups, brings the GPU's clocks up.
    await warmUp(Number(args['warm-up-ms']), async () => {
      await timeDecode(cache, context, 8, way);
      cache.truncate(context);
    });
    const row = await timeDecode(cache, context, tokens, way);
    cache.truncate(context);
    rows.push(row);
    console.error(`  context ${context}, ${way}: ${row.tokensPerSecond.toFixed(1)} tok/s`);
  }
  cache.destroy();
}

const longest = Math.max(...args.contexts.split(',').map(Number));
const kernels = kernelChoices(gpu, weights, transformer.shape, { prefillRows: 512, decodeContext: longest, kvType });
for (const line of kernels) console.error(`  kernel ${line}`);
const report = { adapter: gpu.adapter.description, model: args.model, modelType: config.modelType, layers: config.layers, weightType, kvType, projections: args.projections, weightBytes: weights.bytes, prefill, rows, kernels };
await mkdir(resolve(args.out, '..'), { recursive: true });
await writeFile(`${args.out}.json`, `${JSON.stringify(report, null, 2)}\n`);
const markdown = formatMarkdown(report);
await writeFile(`${args.out}.md`, markdown);
console.log(markdown);
transformer.destroy();
weights.destroy();
gpu.destroy();
process.exit(0);


/** One full causal forward of `count` tokens into an empty cache (no logits), the second of two runs. */
async function timePrefill(count: number): Promise<{ tokens: number; ms: number }> {
  const ids = Array.from({ length: count }, (_, i) => (i * 7919 + 1) % config.vocab);
  let ms = 0;
  for (let run = 0; run < 2; run++) {
    const cache = new KvCache(gpu, kvShape, count);
    const started = performance.now();
    await transformer.forward({ ids, firstPosition: 0, cache, attention: { kind: 'causal' }, logits: 'none' });
    await gpu.finish();
    ms = performance.now() - started;
    cache.destroy();
  }
  return { tokens: count, ms };
}

async function timeDecode(cache: KvCache, context: number, count: number, way: DecodeRow['way']): Promise<DecodeRow> {
  const before = { ...gpu.counters };
  const started = performance.now();
  if (way === 'logits read back') {
    let id = 1;
    for (let i = 0; i < count; i++) {
      const logits = await transformer.forward({ ids: [id], firstPosition: context + i, cache, attention: { kind: 'causal' }, logits: 'last' });
      id = argmax(await gpu.readF32(logits!));
    }
  } else {
    // Citations: recorded for every decoded token, read back once at the end, as the reader does.
    if (way === 'gpu sampler, citations') transformer.startCitations({ origin: 0, firstPosition: context, rows: count + 1 });
    const answer = new AnswerDecoder(gpu, transformer, cache, { sampling: { temperature: 0 }, vocab: config.vocab, seen: [] });
    let id = 1;
    for (let i = 0; i < count; i++) id = await answer.step([id], context + i);
    if (transformer.citing) await transformer.readCitations(count);
    await answer.end();
    transformer.stopCitations();
  }
  const ms = performance.now() - started;
  const perToken = Object.fromEntries(Object.entries(gpu.counters).map(([k, v]) => [k, (v - before[k as keyof typeof before]) / count]));
  return { context, way, tokens: count, tokensPerSecond: (count * 1000) / ms, msPerToken: ms / count, perToken };
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function formatMarkdown(r: typeof report): string {
  const lines = [
    `# Decode: ${r.model} (${r.modelType}, ${r.layers} layers, ${r.weightType} weights, projections ${r.projections}, ${r.kvType} KV, ${(r.weightBytes / 2 ** 30).toFixed(2)} GiB)`,
    '',
    `Adapter: ${r.adapter}. Greedy, one token per forward; KV cache filled with random values. Per-token counts include the token queued ahead.`,
    ...(r.prefill ? ['', `Prefill (full causal, one forward from position 0, second run): ${r.prefill.tokens} tokens in ${r.prefill.ms.toFixed(1)} ms.`] : []),
    '',
    'Kernels chosen on this device (prefill at 512 rows, decode attention at the longest context):',
    '',
    ...r.kernels.map((line) => `- ${line}`),
    '',
    '| context | way | tok/s | ms/token | dispatches | passes | submits | waits | bind groups made | bytes read |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of r.rows) {
    const p = row.perToken;
    lines.push(`| ${row.context} | ${row.way} | ${row.tokensPerSecond.toFixed(1)} | ${row.msPerToken.toFixed(2)} | ${p.dispatches} | ${p.passes} | ${p.submits} | ${p.waits} | ${p.bindGroupsMade.toFixed(1)} | ${p.bytesRead} |`);
  }
  return `${lines.join('\n')}\n`;
}
