// `star-reader bench` (npm run bench): Star Attention against full attention on the same engine, in one
// run (src/bench/speed-bench.ts): phase 1 time at several context lengths, block sizes and host counts,
// decode tokens/s after each, the attention kernels alone, each beside the theoretical FLOPs ratio;
// `--modes star` times Star Attention alone (full attention at 64K–128K tokens takes minutes).
// `--browser` runs the same benchmark in Chromium (bench/browser/speed.html). Writes JSON and markdown.
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { asUsage, parseOptions, type OptionSpec } from './args.ts';
import { writeSyntheticModel } from './synthetic-model.ts';
import { qwen25HalfBLayout } from '../model/synthetic-weights.ts';
import { StarEngine } from '../star/star-engine.ts';
import { parseWeightType, type WeightType } from '../model/weights.ts';
import { defaultKvType, parseKvType } from '../model/kv-cache.ts';
import type { KvType } from '../gpu/kernels/kv-store.ts';
import { openLocalHost } from '../star/local-host.ts';
import { openAttentionTimer } from '../bench/attention-timing.ts';
import {
  benchDefaults,
  benchOptions as resolveBenchOptions,
  benchPlan,
  describeSpeedEvent,
  engineSubject,
  formatSpeedMarkdown,
  runSpeedBench,
  speedReport,
  type BenchArguments,
  type BenchOptions,
  type SpeedReport,
} from '../bench/speed-bench.ts';

export const benchOptions = {
  model: { type: 'string', help: 'model directory in Hub layout (default: random weights with Qwen2.5-0.5B heads, 2 layers); with --browser, inside the repository' },
  modes: {
    type: 'string',
    default: benchDefaults.modes,
    help: 'attention to time, comma-separated: full (the baseline the measured ratios are taken against) and star; star alone skips full attention, which takes minutes at 64K+ tokens (rows then carry the FLOPs ratio only, and the kernels are not timed)',
  },
  lengths: { type: 'string', default: benchDefaults.lengths, help: 'context lengths, comma-separated' },
  'block-divisors': { type: 'string', default: benchDefaults.blockDivisors, help: 'block size = length / each divisor (at least 128)' },
  hosts: { type: 'string', default: benchDefaults.hosts, help: 'host counts to run Star Attention on, comma-separated' },
  decode: { type: 'number', default: benchDefaults.decode, help: 'tokens generated after each encode to measure decode speed' },
  repeat: { type: 'number', default: benchDefaults.repeat, help: 'runs of each measurement (the fastest is kept)' },
  'weight-type': { type: 'string', default: 'f32', help: 'weights on the GPU: f32, bf16, f16 (16-bit files kept as they are), q8, q4 or q4g128 (Node only)' },
  'kv-cache-type': { type: 'string', default: defaultKvType, help: '(Node only) element type of the KV cache on the GPU: f16 (half the memory) or f32 (exact)' },
  quick: { type: 'boolean', help: 'two short lengths, one block divisor: a few minutes on a CPU WebGPU (lavapipe in Node, SwiftShader in Chromium)' },
  browser: { type: 'boolean', help: 'run in Chromium (WebGPU in the page, hosts in Workers): bench/browser/speed.html' },
  out: { type: 'string', help: 'output path without extension, .json and .md written (default bench/results/latest, or browser-latest with --browser)' },
} satisfies OptionSpec;

export async function bench(argv: readonly string[]): Promise<void> {
  const o = parseOptions(argv, benchOptions);
  const args: BenchArguments = { modes: o.modes, lengths: o.lengths, blockDivisors: o['block-divisors'], hosts: o.hosts, decode: o.decode, repeat: o.repeat, quick: o.quick };
  const options: BenchOptions = asUsage(() => resolveBenchOptions(args, o.browser ? 'browser' : 'node'));
  const weightType: WeightType = asUsage(() => parseWeightType(o['weight-type']));
  const kvType: KvType = asUsage(() => parseKvType(o['kv-cache-type']));
  const report = o.browser ? await benchInBrowser(args, o.model) : await benchInNode(options, o.model, weightType, kvType);
  const out = o.out ?? (o.browser ? 'bench/results/browser-latest' : 'bench/results/latest');
  await mkdir(resolve(out, '..'), { recursive: true });
  await writeFile(`${out}.json`, JSON.stringify(report, null, 2));
  const markdown = formatSpeedMarkdown(report);
  await writeFile(`${out}.md`, markdown);
  console.log(markdown);
}

async function benchInNode(options: BenchOptions, modelPath: string | undefined, weightType: WeightType, kvType: KvType): Promise<SpeedReport> {
  const model = modelPath ?? qwen25HalfBLayout.name;
  const path = modelPath ? resolve(modelPath) : await writeSyntheticModel(qwen25HalfBLayout);
  console.error(`bench: ${model}`);
  const plan = benchPlan(options);
  const subject = engineSubject(
    (hosts) => StarEngine.create({ model: { kind: 'directory', path }, hosts, weightType, kvType, openHost: openLocalHost, conversationRoom: options.decode + 1 }),
    openAttentionTimer,
  );
  const result = await runSpeedBench(subject, plan, { onEvent: (event) => console.error(`  ${describeSpeedEvent(event)}`) });
  return speedReport(result, plan, `${model} (${weightType} weights, ${kvType} KV)`, 'node (Dawn)');
}

async function benchInBrowser(args: BenchArguments, modelPath: string | undefined): Promise<SpeedReport> {
  // Vite and Playwright are development dependencies: loaded only for this.
  const { runBenchPage } = await import('../../bench/browser/run-page.ts');
  const query = Object.fromEntries(Object.entries(args).flatMap(([k, v]) => (v === undefined || v === false ? [] : [[k, String(v)]])));
  // The dev server serves any file under the repository (and ../shared) at /@fs/<absolute path>.
  if (modelPath) query.model = `/@fs${resolve(modelPath)}/`;
  const { result, adapter } = await runBenchPage<SpeedReport>('bench/browser/speed.html', { query });
  return { ...result, adapter };
}
