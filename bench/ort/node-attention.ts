// `node --import tsx bench/ort/node-attention.ts [--layouts qwen,llama] [--lengths 16,4096,16384]
// [--repeat 3] [--tiles default,64/1/16] [--ort-log info] [--allow-disagreement] [--out DIR]`: our
// attention_prefill against onnxruntime-node's WebGPU execution provider (its own Dawn, linked into libonnxruntime.so) running the one-node
// com.microsoft GroupQueryAttention graph of onnx-model.ts: Node's counterpart of `npm run bench:ort`
// (Chromium), on the same head layouts, causal prompt, f32.
//
// onnxruntime-node is not a dependency of the project (288 MB installed, every platform's binaries). It is
// loaded from ORT_NODE_DIR (its package directory, e.g. after
// `npm install --ignore-scripts onnxruntime-node@1.30` in /tmp/ortnode: its install script only fetches
// CUDA from nuget), else from .ort-pack/onnxruntime-node.tar.xz (bench/ort/pack-ort-node.sh), unpacked
// into /tmp/ort-node-pack on first use.
//
// Both outputs are first checked against the double-precision reference at a short length. Then, per
// length, fastest of `repeat` rounds after an untimed one:
// - ours: attentionPrefill on our Dawn device (npm `webgpu`), inputs in GPU buffers, from submission to
//   onSubmittedWorkDone;
// - ORT, GPU-resident: its tensors cannot wrap a buffer of ours, so an Identity session with outputs left
//   on the GPU ('gpu-buffer') puts q, K, V into its buffers once, and those tensors feed GroupQueryAttention,
//   whose outputs (and the present K/V it always writes) stay on the GPU. session.run returns once the
//   work is submitted; a one-float Identity session with CPU output then waits for ORT's queue. Its time
//   is included and reported alone (`sync ms`). The seqlens_k and total_sequence_length scalars are CPU
//   inputs of the operator, as in every ORT GQA run;
// - ORT, CPU tensors: session.run with CPU inputs and outputs (transfers included: q, K, V up; output and
//   present K/V down), as the first look timed it.
// The timing runs' outputs are compared with each other after timing. TFLOP/s counts the causal FLOPs,
// 2·2·heads·headDim·T·(T+1)/2 (QKᵀ and PV). Writes DIR/ort-node.json and .md (default bench/results).
//
// Which adapter ORT's Dawn takes is its own choice: the Vulkan loader's drivers (VK_ICD_FILENAMES /
// VK_DRIVER_FILES) decide, as for ours. `--ort-log info` prints ORT's log, which names every shader
// program it starts ("Starting program …") with its dispatch size; `verbose` adds their WGSL.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type * as OrtCommon from 'onnxruntime-common';
import { Gpu } from '../../src/gpu/gpu.ts';
import type { AttentionShape } from '../../src/gpu/kernels/attention.ts';
import { attentionRef, causalMask } from '../../test/reference/attention.ts';
import { maxAbsDiff } from '../../test/support/random.ts';
import { ourSide } from './our-side.ts';
import { groupQueryAttentionModel, identityModel } from './onnx-model.ts';
import { agrees, disagreement, layouts, parseTileCandidates, tilesLabel, type AgreementRow, type HeadLayout, type TileCandidate, type TimingRow } from './report.ts';

const { values: args } = parseArgs({
  options: {
    layouts: { type: 'string' },
    lengths: { type: 'string' },
    repeat: { type: 'string', default: '3' },
    tiles: { type: 'string' },
    'ort-log': { type: 'string', default: 'warning' },
    // Time even when the outputs disagree (to see what a wrong kernel costs); the report says they do.
    'allow-disagreement': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results' },
  },
});

type Ort = Pick<typeof OrtCommon, 'InferenceSession' | 'Tensor' | 'env'>;
type Session = OrtCommon.InferenceSession;
type Feeds = OrtCommon.InferenceSession.FeedsType;

const packed = '.ort-pack/onnxruntime-node.tar.xz';
const unpackedRoot = '/tmp/ort-node-pack';

function ortNodeDir(): string {
  if (process.env.ORT_NODE_DIR) return path.resolve(process.env.ORT_NODE_DIR);
  const dir = path.join(unpackedRoot, 'node_modules/onnxruntime-node');
  if (existsSync(dir)) return dir;
  if (!existsSync(packed)) {
    throw new Error(`onnxruntime-node not found: set ORT_NODE_DIR to its package directory, or pack it into ${packed} with bench/ort/pack-ort-node.sh`);
  }
  mkdirSync(unpackedRoot, { recursive: true });
  execFileSync('tar', ['-xJf', path.resolve(packed), '-C', unpackedRoot]);
  return dir;
}

const ortDir = ortNodeDir();
const ort = createRequire(import.meta.url)(ortDir) as Ort;
const ortVersion = (createRequire(import.meta.url)(path.join(ortDir, 'package.json')) as { version: string }).version;
const ortLogLevels = ['verbose', 'info', 'warning', 'error', 'fatal'] as const;
const ortLogLevel = ortLogLevels.indexOf(args['ort-log'] as (typeof ortLogLevels)[number]);
if (ortLogLevel < 0) throw new Error(`--ort-log ${args['ort-log']}: one of ${ortLogLevels.join(', ')}`);
ort.env.logLevel = ortLogLevels[ortLogLevel];

function ortSession(model: Uint8Array, outputs: 'gpu-buffer' | 'cpu'): Promise<Session> {
  return ort.InferenceSession.create(model, { executionProviders: ['webgpu'], preferredOutputLocation: outputs, logSeverityLevel: ortLogLevel as 0 | 1 | 2 | 3 | 4 });
}

const gpu = await Gpu.create();
const onCpu = gpu.adapter.runsOnCpu;
const layoutNames = (args.layouts ?? (onCpu ? 'qwen' : 'qwen,llama')).split(',') as Array<keyof typeof layouts>;
// 16 tokens first: what a call costs whatever its length (ORT's session.run, its wait; our dispatch and wait).
const lengths = (args.lengths ?? (onCpu ? '16,512,1024' : '16,4096,16384')).split(',').map(Number);
const repeat = Number(args.repeat);
const candidates = parseTileCandidates(args.tiles);
if (!(repeat >= 1) || lengths.some((n) => !(Number.isInteger(n) && n > 0))) throw new Error('--repeat and --lengths take positive integers');

/** Waits for everything queued on ORT's device: a one-float Identity whose output is read back. */
const syncSession = await ortSession(identityModel([{ name: 'x', dims: [1] }]), 'cpu');
const syncFeeds: Feeds = { x: new ort.Tensor('float32', Float32Array.of(1), [1]) };
const ortSync = () => syncSession.run(syncFeeds);

interface Case {
  layout: HeadLayout;
  shape: AttentionShape;
  /** GroupQueryAttention with outputs left on the GPU, and with CPU outputs. */
  gqaGpu: Session;
  gqaCpu: Session;
  /** q, K, V (CPU) to the same on ORT's GPU. */
  staging: Session;
}

interface Inputs {
  tokens: number;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  ours: (tiles: TileCandidate) => void;
  /** Our q, keys, values, o, lse. */
  buffers: GPUBuffer[];
  cpuFeeds: Feeds;
  gpuFeeds: Feeds;
  /** The staging run's outputs, which gpuFeeds hold. */
  staged: OrtCommon.Tensor[];
}

async function openCase(layout: HeadLayout): Promise<Case> {
  const shape: AttentionShape = { heads: layout.heads, kvHeads: layout.kvHeads, headDim: layout.headDim, scale: 1 / Math.sqrt(layout.headDim) };
  const model = groupQueryAttentionModel(shape);
  const staging = identityModel([
    { name: 'query', dims: [1, 'S', shape.heads * shape.headDim] },
    { name: 'key', dims: [1, 'S', shape.kvHeads * shape.headDim] },
    { name: 'value', dims: [1, 'S', shape.kvHeads * shape.headDim] },
  ]);
  return { layout, shape, gqaGpu: await ortSession(model, 'gpu-buffer'), gqaCpu: await ortSession(model, 'cpu'), staging: await ortSession(staging, 'gpu-buffer') };
}

async function inputs(c: Case, tokens: number, seed: number): Promise<Inputs> {
  const { q, k, v, qWidth, kvWidth, buffers, ours } = ourSide(gpu, c.shape, tokens, seed);
  const scalars: Feeds = {
    seqlens_k: new ort.Tensor('int32', Int32Array.of(tokens - 1), [1]),
    total_sequence_length: new ort.Tensor('int32', Int32Array.of(tokens), []),
  };
  const cpuQkv: Feeds = {
    query: new ort.Tensor('float32', q, [1, tokens, qWidth]),
    key: new ort.Tensor('float32', k, [1, tokens, kvWidth]),
    value: new ort.Tensor('float32', v, [1, tokens, kvWidth]),
  };
  const staged = await c.staging.run(cpuQkv);
  return {
    tokens,
    q,
    k,
    v,
    ours,
    buffers,
    cpuFeeds: { ...cpuQkv, ...scalars },
    gpuFeeds: { query: staged.query_out, key: staged.key_out, value: staged.value_out, ...scalars },
    staged: Object.values(staged),
  };
}

function release(x: Inputs): void {
  for (const buffer of x.buffers) buffer.destroy();
  for (const tensor of x.staged) tensor.dispose();
}

async function timeOurs(x: Inputs, tiles: TileCandidate): Promise<number> {
  const started = performance.now();
  x.ours(tiles);
  await gpu.finish();
  return performance.now() - started;
}

async function timeOrtGpu(c: Case, x: Inputs): Promise<number> {
  const started = performance.now();
  const results = await c.gqaGpu.run(x.gpuFeeds);
  await ortSync();
  const ms = performance.now() - started;
  for (const tensor of Object.values(results)) tensor.dispose();
  return ms;
}

/** ORT with CPU tensors: its time (uploads and read-backs included) and its output. */
async function runOrtCpu(c: Case, x: Inputs): Promise<{ ms: number; output: Float32Array }> {
  const started = performance.now();
  const results = await c.gqaCpu.run(x.cpuFeeds);
  return { ms: performance.now() - started, output: results.output.data as Float32Array };
}

async function agreement(c: Case, tokens: number): Promise<AgreementRow> {
  const x = await inputs(c, tokens, 7 * tokens + c.layout.headDim);
  try {
    const theirs = (await runOrtCpu(c, x)).output;
    const positions = Array.from({ length: tokens }, (_, t) => t);
    const want = attentionRef(c.shape, x.q, tokens, x.k, x.v, tokens, causalMask(positions, positions)).o;
    let oursVsReference = 0;
    let oursVsOrt = 0;
    for (const tiles of candidates) {
      x.ours(tiles);
      const ours = await gpu.readF32(x.buffers[3]);
      oursVsReference = Math.max(oursVsReference, maxAbsDiff(ours, want));
      oursVsOrt = Math.max(oursVsOrt, maxAbsDiff(ours, theirs));
    }
    return { layout: c.layout.name, tokens, ortSubgroups: gpu.hasSubgroups, oursVsReference, ortVsReference: maxAbsDiff(theirs, want), oursVsOrt };
  } finally {
    release(x);
  }
}

export interface NodeTimingRow extends TimingRow {
  /** ORT with CPU tensors, transfers included. */
  ortCpuMs: number;
  tflops: { ours: number; ort: number; ortCpu: number };
}

const causalFlops = (s: AttentionShape, tokens: number) => (2 * 2 * s.heads * s.headDim * tokens * (tokens + 1)) / 2;

/** Every candidate of ours, then ORT on GPU buffers, then ORT on CPU tensors, in each round, so that a load on the machine falls on all alike. */
async function timing(c: Case, tokens: number): Promise<NodeTimingRow[]> {
  const x = await inputs(c, tokens, tokens);
  try {
    const oursMs = candidates.map(() => Infinity);
    let ortMs = Infinity;
    let ortCpuMs = Infinity;
    for (let r = 0; r <= repeat; r++) {
      for (const [i, tiles] of candidates.entries()) {
        const ms = await timeOurs(x, tiles);
        if (r > 0) oursMs[i] = Math.min(oursMs[i], ms);
      }
      const gpuMs = await timeOrtGpu(c, x);
      const cpuMs = (await runOrtCpu(c, x)).ms;
      if (r > 0) [ortMs, ortCpuMs] = [Math.min(ortMs, gpuMs), Math.min(ortCpuMs, cpuMs)];
    }
    const theirs = (await runOrtCpu(c, x)).output;
    const flops = causalFlops(c.shape, tokens);
    const tflops = (ms: number) => flops / ms / 1e9;
    const rows: NodeTimingRow[] = [];
    for (const [i, tiles] of candidates.entries()) {
      x.ours(tiles);
      const diff = maxAbsDiff(await gpu.readF32(x.buffers[3]), theirs);
      rows.push({
        layout: c.layout.name,
        tokens,
        tiles: tilesLabel(tiles),
        oursMs: oursMs[i],
        ortMs,
        ratio: oursMs[i] / ortMs,
        maxAbsDiff: diff,
        ortCpuMs,
        tflops: { ours: tflops(oursMs[i]), ort: tflops(ortMs), ortCpu: tflops(ortCpuMs) },
      });
    }
    return rows;
  } finally {
    release(x);
  }
}

/** Fastest of `repeat` lone sync runs: the part of ORT's GPU-buffer times that waits for its queue. */
async function syncMs(): Promise<number> {
  let best = Infinity;
  for (let r = 0; r <= repeat; r++) {
    const started = performance.now();
    await ortSync();
    if (r > 0) best = Math.min(best, performance.now() - started);
  }
  return best;
}

const report = {
  date: new Date().toISOString(),
  ortVersion,
  adapter: gpu.adapter.description,
  repeat,
  tiles: candidates.map(tilesLabel),
  syncMs: 0,
  agreement: [] as AgreementRow[],
  timings: [] as NodeTimingRow[],
};
try {
  report.syncMs = await syncMs();
  for (const name of layoutNames) {
    const layout = layouts[name];
    if (!layout) throw new Error(`unknown layout "${name}" (known: ${Object.keys(layouts).join(', ')})`);
    const c = await openCase(layout);
    try {
      // Small enough for the double-precision reference, and not a multiple of any tile.
      const check = await agreement(c, layout.headDim <= 64 ? 37 : 35);
      report.agreement.push(check);
      console.log(`agreement ${JSON.stringify(check)}`);
      // Timings of outputs that disagree would mean nothing, unless asked for.
      if (!agrees(check) && !args['allow-disagreement']) continue;
      for (const tokens of lengths) {
        for (const row of await timing(c, tokens)) {
          report.timings.push(row);
          console.log(
            `${layout.name} T=${tokens} tiles ${row.tiles}: ours ${row.oursMs.toFixed(1)} ms (${row.tflops.ours.toFixed(3)} TFLOP/s), ` +
              `ORT ${row.ortMs.toFixed(1)} ms (${row.tflops.ort.toFixed(3)}), ORT CPU tensors ${row.ortCpuMs.toFixed(1)} ms, ours/ORT ${row.ratio.toFixed(2)}, max |diff| ${row.maxAbsDiff.toExponential(1)}`,
          );
        }
      }
    } finally {
      for (const session of [c.gqaGpu, c.gqaCpu, c.staging]) await session.release();
    }
  }
} finally {
  gpu.destroy();
}

const problem = disagreement(report);
const e = (x: number) => x.toExponential(1);
const markdown = [
  `Measured ${report.date.slice(0, 10)} in Node: ours on ${report.adapter} (Dawn from npm \`webgpu\`); onnxruntime-node ${report.ortVersion}, ` +
    `WebGPU EP (its own Dawn), f32 com.microsoft GroupQueryAttention (causal prompt, no past). Fastest of ${report.repeat} rounds after an untimed one. ` +
    `Ours: submission to onSubmittedWorkDone, GPU buffers. ORT: session.run on tensors in its GPU buffers with outputs left there, plus a wait for its queue ` +
    `(a one-float Identity read back, ${report.syncMs.toFixed(2)} ms alone); "CPU tensors": session.run with uploads and read-backs. ` +
    'TFLOP/s of the causal FLOPs, 2·2·heads·headDim·T·(T+1)/2.',
  '',
  '| layout | tokens | our tiles | ours ms | ours TFLOP/s | ORT ms | ORT TFLOP/s | ours / ORT (time) | ORT CPU tensors ms | its TFLOP/s | max abs diff |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...report.timings.map(
    (r) =>
      `| ${r.layout} | ${r.tokens} | ${r.tiles} | ${r.oursMs.toFixed(1)} | ${r.tflops.ours.toFixed(3)} | ${r.ortMs.toFixed(1)} | ${r.tflops.ort.toFixed(3)} | ` +
      `${r.ratio.toFixed(2)} | ${r.ortCpuMs.toFixed(1)} | ${r.tflops.ortCpu.toFixed(3)} | ${e(r.maxAbsDiff)} |`,
  ),
  '',
  'Agreement first (max abs diff of the output; reference: double precision on the CPU):',
  ...report.agreement.map((r) => `- ${r.layout}, ${r.tokens} tokens: ours ${e(r.oursVsReference)}, ORT ${e(r.ortVsReference)}, ours vs ORT ${e(r.oursVsOrt)}`),
  ...(problem ? ['', `**Not a valid comparison**: ${problem}`] : []),
].join('\n');
await mkdir(args.out, { recursive: true });
await writeFile(path.join(args.out, 'ort-node.json'), JSON.stringify(report, null, 2));
await writeFile(path.join(args.out, 'ort-node.md'), markdown + '\n');
console.log(markdown);
if (problem && !args['allow-disagreement']) throw new Error(problem);
