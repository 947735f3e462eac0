// The kernel benchmark, DOM-free: each kernel alone on Qwen2.5-0.5B's shapes (hidden 896, MLP 4864,
// vocabulary 151 936, 14 query heads, 2 KV heads, head dim 64), in GFLOP/s (compute-bound kernels) or
// GB/s (memory-bound ones). Run by bench/kernels.ts in Node and by bench/browser/kernels.ts in Chromium.
// Kernels with a subgroup path are also timed on their workgroup-memory path (a second device created
// with `subgroups: false`), interleaved run by run with the default path so both see the same load.
import type { Gpu } from '../src/gpu/gpu.ts';
import type { Tensor } from '../src/gpu/tensor.ts';
import { linear, type LinearWeight } from '../src/gpu/kernels/linear.ts';
import { rmsNorm } from '../src/gpu/kernels/norms.ts';
import { argmax } from '../src/gpu/kernels/argmax.ts';
import { rope } from '../src/gpu/kernels/rope.ts';
import { siluMul } from '../src/gpu/kernels/elementwise.ts';
import { attentionBlockAnchor, attentionDecode, attentionPrefill, decodeScratchBytes, type AttentionShape } from '../src/gpu/kernels/attention.ts';
import { ropeInverseFrequencies } from '../src/model/rope-frequencies.ts';
import { f32ToBf16Bits, f32ToF16Bits } from '../src/model/dtype.ts';
import { uniformStream } from '../src/model/synthetic-weights.ts';

type Unit = 'GFLOP/s' | 'GB/s';

export interface Timing {
  /** Fastest time of one dispatch (or of the kernel's few dispatches), in ms. */
  ms: number;
  rate: number;
}

export interface KernelRow extends Timing {
  kernel: string;
  shape: string;
  unit: Unit;
  /** The kernel's workgroup-memory path, when it has a subgroup path and the device has subgroups. */
  workgroupMemory?: Timing;
}

export interface KernelReport {
  date: string;
  adapter: string;
  /** Subgroup sizes of the adapter, when the default path uses subgroups. */
  subgroupSizes?: { min: number; max: number };
  quick: boolean;
  rows: KernelRow[];
}

export interface SuiteDevices {
  /** The device as the engine gets it (subgroups when the adapter has them). */
  gpu: Gpu;
  /** The same adapter without subgroups; only when `gpu` has them. */
  noSubgroups?: Gpu;
}

export interface SuiteOptions {
  quick: boolean;
  log: (line: string) => void;
}

/** Records one run of a kernel on the device its closure was built for. */
export type Recorder = (encoder: GPUCommandEncoder) => void;

interface KernelCase {
  kernel: string;
  shape: string;
  /** FLOPs or bytes of one run. */
  amount: number;
  unit: Unit;
  /** Whether the kernel has a subgroup path (then it is also timed without). */
  subgroups: boolean;
  /** Builds the inputs on a device and returns what one run records. */
  setup: (gpu: Gpu) => Recorder;
}

const hidden = 896;
const mlp = 4864;
const vocab = 151_936;
const attention: AttentionShape = { heads: 14, kvHeads: 2, headDim: 64, scale: 1 / 8 };

const filled = (count: number, seed: number) => uniformStream(seed)(count, 0.5);

function tensor(gpu: Gpu, shape: number[], seed: number): Tensor {
  return gpu.tensorFrom(filled(shape.reduce((a, b) => a * b, 1), seed), 'f32', shape);
}

/**
 * A linear layer of `tokens` rows. 16-bit weights are stored as the loader stores them; on the tiled
 * path bf16 goes to the tensor-core kernel where the device has it (linear.ts).
 */
function linearCase(tokens: number, weightType: 'f32' | 'f16' | 'bf16'): KernelCase {
  const decode = tokens <= 8;
  const weightBytes = weightType === 'f32' ? 4 : 2;
  return {
    kernel: `linear (${decode ? 'matvec' : 'tiled'}${weightType === 'f32' ? '' : `, ${weightType}`})`,
    shape: `${tokens}×${hidden} · ${mlp}×${hidden}ᵀ`,
    // Decoding is bound by reading the weight, prefill by arithmetic.
    amount: decode ? weightBytes * mlp * hidden + 4 * tokens * (hidden + mlp) : 2 * tokens * hidden * mlp,
    unit: decode ? 'GB/s' : 'GFLOP/s',
    subgroups: decode,
    setup: (gpu) => {
      const x = tensor(gpu, [tokens, hidden], 1);
      const data = filled(mlp * hidden, 2);
      const bits = { f16: f32ToF16Bits, bf16: f32ToBf16Bits };
      const part = weightType === 'f32' ? gpu.tensorFrom(data, 'f32', [mlp, hidden]) : gpu.tensorFrom(bits[weightType](data), weightType, [mlp, hidden]);
      const w: LinearWeight = { parts: [part], outs: mlp, ins: hidden };
      const y = gpu.tensor('f32', [tokens, mlp]);
      return (e) => linear(gpu, e, x, w, y, tokens);
    },
  };
}

function rmsNormCase(tokens: number): KernelCase {
  return {
    kernel: 'rmsNorm',
    shape: `${tokens}×${hidden}`,
    amount: 4 * 2 * tokens * hidden,
    unit: 'GB/s',
    subgroups: true,
    setup: (gpu) => {
      const x = tensor(gpu, [tokens, hidden], 3);
      const norm = tensor(gpu, [hidden], 4);
      const y = gpu.tensor('f32', [tokens, hidden]);
      return (e) => rmsNorm(gpu, e, x, norm, y, tokens, 1e-6);
    },
  };
}

function cases(quick: boolean, hasF16: boolean): KernelCase[] {
  const list: KernelCase[] = [];
  for (const tokens of [1, 8]) list.push(linearCase(tokens, 'f32'));
  if (hasF16) list.push(linearCase(1, 'f16'));
  for (const tokens of quick ? [128] : [128, 512]) list.push(linearCase(tokens, 'f32'), linearCase(tokens, 'bf16'));
  list.push(rmsNormCase(1), rmsNormCase(quick ? 128 : 512));
  list.push({
    kernel: 'argmax',
    shape: `1×${vocab}`,
    amount: 4 * vocab,
    unit: 'GB/s',
    subgroups: true,
    setup: (gpu) => {
      const logits = tensor(gpu, [1, vocab], 11);
      const out = gpu.buffer(4);
      return (e) => argmax(gpu, e, logits, 1, out);
    },
  });
  const tokens = quick ? 128 : 512;
  list.push({
    kernel: 'siluMul',
    shape: `${tokens}×${mlp}`,
    amount: 4 * 3 * tokens * mlp,
    unit: 'GB/s',
    subgroups: false,
    setup: (gpu) => {
      const gate = tensor(gpu, [tokens, mlp], 5);
      const up = tensor(gpu, [tokens, mlp], 6);
      const out = gpu.tensor('f32', [tokens, mlp]);
      return (e) => siluMul(gpu, e, gate, up, out, tokens * mlp);
    },
  });
  list.push({
    kernel: 'rope',
    shape: `${tokens}×(14+2)×64`,
    amount: 4 * 2 * tokens * 16 * 64,
    unit: 'GB/s',
    subgroups: false,
    setup: (gpu) => {
      const q = tensor(gpu, [tokens, 14, 64], 7);
      const k = tensor(gpu, [tokens, 2, 64], 8);
      const positions = gpu.upload(Uint32Array.from({ length: tokens }, (_, i) => i));
      const { invFreq } = ropeInverseFrequencies(64, 1_000_000);
      const freq = gpu.tensorFrom(invFreq, 'f32', [invFreq.length]);
      return (e) => rope(gpu, e, q, k, positions, freq, tokens, 14, 2, 64, 1);
    },
  });
  for (const n of quick ? [512, 1024] : [1024, 2048, 4096]) {
    const qkv = (gpu: Gpu) => ({
      q: tensor(gpu, [n, 14, 64], 8).buffer,
      keys: tensor(gpu, [n, 2, 64], 9).buffer,
      values: tensor(gpu, [n, 2, 64], 10).buffer,
      out: { o: gpu.buffer(n * 14 * 64 * 4), lse: gpu.buffer(n * 14 * 4) },
    });
    list.push({
      kernel: 'attention prefill',
      shape: `n=${n}, causal`,
      amount: 4 * 64 * 14 * ((n * (n + 1)) / 2),
      unit: 'GFLOP/s',
      subgroups: false,
      setup: (gpu) => {
        const { q, keys, values, out } = qkv(gpu);
        return (e) => attentionPrefill(gpu, e, attention, { q, rows: n, firstPosition: 0 }, { keys, values, start: 0, length: n, firstPosition: 0 }, out);
      },
    });
    const b = n / 4;
    list.push({
      kernel: 'attention block+anchor',
      shape: `n=${n}, blocks 1–3 of ${b}`,
      amount: 4 * 64 * 14 * 3 * (b * b + (b * (b + 1)) / 2),
      unit: 'GFLOP/s',
      subgroups: false,
      setup: (gpu) => {
        const { q, keys, values, out } = qkv(gpu);
        return (e) =>
          attentionBlockAnchor(
            gpu,
            e,
            attention,
            { q, rows: n - b, firstPosition: b },
            { keys, values, start: 0, length: b, firstPosition: 0 },
            { keys, values, start: b, length: n - b, firstPosition: b },
            b,
            out,
          );
      },
    });
    list.push({
      kernel: 'attention decode',
      shape: `1 query over ${n} keys`,
      amount: 2 * 4 * n * 2 * 64,
      unit: 'GB/s',
      subgroups: false,
      setup: (gpu) => {
        const { q, keys, values, out } = qkv(gpu);
        const spans = [{ keys, values, start: 0, length: n, firstPosition: 0 }];
        const scratch = gpu.buffer(decodeScratchBytes(gpu, attention, 1, spans));
        const positions = gpu.upload(Uint32Array.of(n));
        return (e) => attentionDecode(gpu, e, attention, { q, rows: 1, positions }, spans, scratch, out);
      },
    });
  }
  return list;
}

/** Wall time of `record` repeated `repeats` times in one submission. */
async function timeOnce(gpu: Gpu, record: Recorder, repeats: number): Promise<number> {
  const started = performance.now();
  gpu.run((encoder) => {
    for (let i = 0; i < repeats; i++) record(encoder);
  });
  await gpu.finish();
  return performance.now() - started;
}

/**
 * Fastest time of one run for each recorder, rounds interleaved. An untimed first run compiles the
 * pipelines; short kernels are repeated within a submission (to about 20 ms) so the submission's own
 * cost does not dominate, and get more rounds (until `budgetMs` is spent, at most 20) against noise.
 */
export async function timeInterleaved(subjects: Array<{ gpu: Gpu; record: Recorder }>, minRounds: number, budgetMs: number): Promise<number[]> {
  const repeats: number[] = [];
  for (const { gpu, record } of subjects) {
    await timeOnce(gpu, record, 1);
    const single = await timeOnce(gpu, record, 1);
    repeats.push(Math.max(1, Math.min(64, Math.floor(20 / Math.max(single, 0.01)))));
  }
  const best = subjects.map(() => Infinity);
  const started = performance.now();
  for (let round = 0; round < minRounds || (round < 20 && performance.now() - started < budgetMs); round++) {
    for (const [i, { gpu, record }] of subjects.entries()) {
      best[i] = Math.min(best[i], (await timeOnce(gpu, record, repeats[i])) / repeats[i]);
    }
  }
  return best;
}

/**
 * GPU time of one call in ms, by timestamp queries: the fastest of `rounds` passes of 20 calls each,
 * after an untimed call that compiles the pipelines (NaN where the device has no timestamp queries).
 */
export async function gpuTimePerCall(gpu: Gpu, record: Recorder, rounds = 5): Promise<number> {
  if (!gpu.device.features.has('timestamp-query')) return NaN;
  gpu.run(record);
  await gpu.device.queue.onSubmittedWorkDone();
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    gpu.startProfile(false);
    gpu.run((e) => {
      for (let i = 0; i < 20; i++) record(e);
    });
    const passes = await gpu.stopProfile();
    best = Math.min(best, passes.reduce((sum, pass) => sum + pass.ms, 0) / 20);
  }
  return best;
}

function formatTiming(t: Timing, unit: Unit): string {
  return `${t.ms.toFixed(3).padStart(9)} ms ${t.rate.toFixed(2).padStart(8)} ${unit}`;
}

/** Runs every kernel case and returns the report; `log` gets one line per kernel as it goes. */
export async function runKernelSuite(devices: SuiteDevices, options: SuiteOptions): Promise<KernelReport> {
  const { gpu, noSubgroups } = devices;
  const { quick, log } = options;
  const sizes = gpu.hasSubgroups ? gpu.adapter.subgroupSizes : undefined;
  const paths = sizes ? `subgroups (size ${sizes.min === sizes.max ? sizes.min : `${sizes.min}–${sizes.max}`}) | workgroup memory` : 'no subgroups';
  log(`kernels on ${gpu.adapter.description}${quick ? ' (quick)' : ''}; ${paths}`);
  const rows: KernelRow[] = [];
  for (const c of cases(quick, gpu.hasF16)) {
    const subjects = [{ gpu, record: c.setup(gpu) }];
    if (c.subgroups && noSubgroups) subjects.push({ gpu: noSubgroups, record: c.setup(noSubgroups) });
    const [ms, fallbackMs] = await timeInterleaved(subjects, quick ? 3 : 5, quick ? 1000 : 3000);
    const timing = (t: number): Timing => ({ ms: t, rate: c.amount / (t / 1000) / 1e9 });
    const row: KernelRow = { kernel: c.kernel, shape: c.shape, unit: c.unit, ...timing(ms) };
    let line = `${c.kernel.padEnd(24)} ${c.shape.padEnd(30)} ${formatTiming(row, c.unit)}`;
    if (fallbackMs !== undefined) {
      row.workgroupMemory = timing(fallbackMs);
      line += ` | ${formatTiming(row.workgroupMemory, c.unit)}  subgroups ${(fallbackMs / ms).toFixed(2)}×`;
    }
    log(line);
    rows.push(row);
  }
  return { date: new Date().toISOString(), adapter: gpu.adapter.description, subgroupSizes: sizes, quick, rows };
}

/**
 * Repeats `round` until `ms` have passed. A GPU left idle (while the CPU loads weights or fills a
 * cache) lowers its clocks and needs some hundreds of milliseconds of work to come back: on an H100 a
 * decode's first 64 tokens after a 2 GB cache fill ran at half the speed of the next 64, so a warm-up
 * of a few tokens left the clocks' ramp inside the timed run.
 */
export async function warmUp(ms: number, round: () => Promise<void>): Promise<void> {
  const until = performance.now() + ms;
  do await round();
  while (performance.now() < until);
}

/**
 * A profiled run's timed passes (in submission order, Gpu.stopProfile) as the GPU's busy time (their
 * sum) and idle time (the gaps between them: the GPU waiting on the CPU), with the gaps largest first.
 */
export function passTimeline(passes: readonly { ms: number; startMs: number }[]): { count: number; busyMs: number; idleMs: number; gapsMs: number[] } {
  let busyMs = 0;
  const gapsMs: number[] = [];
  let end = passes.length ? passes[0].startMs : 0;
  for (const pass of passes) {
    busyMs += pass.ms;
    gapsMs.push(Math.max(0, pass.startMs - end));
    end = Math.max(end, pass.startMs + pass.ms);
  }
  return { count: passes.length, busyMs, idleMs: gapsMs.reduce((a, b) => a + b, 0), gapsMs: gapsMs.sort((a, b) => b - a) };
}
