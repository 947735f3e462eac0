// `node --import tsx bench/h200-prefill.ts [--out DIR] [--quick]`: the prefill GEMMs (tiled linear
// kernels) on a real GPU, made for the lent H200 (bench/results/h200-prefill-kernels.md). First every
// tile shape of the f32 kernel, and of the tensor-core kernel where the device has it, is checked on the
// device against the CPU reference (test/reference/linear.ts) on shapes that are not multiples of any
// tile; then each is timed on the linear layers of Qwen2.5-0.5B and Llama-3.2-1B at 4096 and 16384
// rows. Writes h200-prefill-kernels.json and .md to DIR (default bench/results); exits 1 when a check
// fails.
import { mkdir, writeFile } from 'node:fs/promises';
import { Gpu } from '../src/gpu/gpu.ts';
import type { Tensor } from '../src/gpu/tensor.ts';
import type { WeightPart } from '../src/gpu/kernels/weight-format.ts';
import { chooseTiledLinear, hasTensorCoresFor, linear, type LinearWeight, type TiledLinear } from '../src/gpu/kernels/linear.ts';
import { f32ToBf16Bits, f32ToF16Bits, roundThrough } from '../src/model/dtype.ts';
import { dequantize, quantize } from '../src/model/formats/quantize.ts';
import { uniformStream } from '../src/model/synthetic-weights.ts';
import { linearRef } from '../test/reference/linear.ts';
import { maxAbsDiff } from '../test/support/random.ts';
import { timeInterleaved } from './kernel-suite.ts';

/** The weight formats checked and timed here: 16-bit and quantized weights on tensor cores, f32 and bf16 on the f32 tile. */
type WeightFormat = 'f32' | 'f16' | 'bf16' | 'q8' | 'q4' | 'q4g128';
const quantizedFormats = ['q8', 'q4', 'q4g128'] as const;

const quick = process.argv.includes('--quick');
const outIndex = process.argv.indexOf('--out');
const outDir = outIndex > 0 ? process.argv[outIndex + 1] : new URL('./results/', import.meta.url).pathname;

// The kernels linear.ts chooses and the nearest alternatives; the wider sweeps that led to them are in
// bench/results/h200-prefill-kernels.md.
const f32Kernels: TiledLinear[] = [{ kind: 'f32', wgM: 16, wgN: 16, tileK: 8 }];
const tensorCoreKernels: TiledLinear[] = [
  { kind: 'tensor-cores', sgM: 4, sgN: 2, tileK: 64 },
  { kind: 'tensor-cores', sgM: 4, sgN: 2, tileK: 32 },
  { kind: 'tensor-cores', sgM: 2, sgN: 2, tileK: 64 },
];

function kernelName(k: TiledLinear): string {
  const tile = k.kind === 'f32' ? `f32 ${8 * k.wgM}×${8 * k.wgN}` : `tensor cores ${32 * k.sgM}×${64 * k.sgN}`;
  return `${tile} k${k.tileK}`;
}

interface Check {
  kernel: string;
  weights: WeightFormat;
  shape: string;
  /** max |y − reference| / √ins, the reference on the values the kernel multiplies. */
  error: number;
  /** The same against the reference on unrounded f32 X (tensor cores: the cost of f16 activations). */
  errorVsF32X: number;
  tolerance: number;
  ok: boolean;
  failure?: string;
}

interface TimingRow {
  kernel: string;
  weights: WeightFormat;
  model: string;
  M: number;
  N: number;
  K: number;
  ms: number;
  tflops: number;
}

/** The weight as the kernel reads it, and the values it stands for (quantized: the dequantized ones). */
function storedWeight(gpu: Gpu, w: Float32Array, format: WeightFormat, outs: number, ins: number): { tensor: Tensor | WeightPart; values: Float32Array } {
  if (format === 'f32') return { tensor: gpu.tensorFrom(w, 'f32', [outs, ins]), values: w };
  if (format === 'f16' || format === 'bf16') {
    return { tensor: gpu.tensorFrom(format === 'f16' ? f32ToF16Bits(w) : f32ToBf16Bits(w), format, [outs, ins]), values: roundThrough(w, format) };
  }
  const packed = quantize(format, w);
  const tensor: WeightPart = { buffer: gpu.upload(packed.data), scales: gpu.upload(packed.scales), dtype: 'u32', shape: [outs, ins], format };
  return { tensor, values: dequantize(packed) };
}

function destroyWeight(t: Tensor | WeightPart): void {
  t.buffer.destroy();
  if ('scales' in t) t.scales?.destroy();
}

const references = new Map<string, Float32Array>();

/** The reference, computed once per inputs (the CPU is the slow part of the checks). */
function reference(key: string, x: Float32Array, w: Float32Array, b: Float32Array, [rows, outs, ins]: number[]): Float32Array {
  let y = references.get(key);
  if (!y) {
    y = linearRef(x, w, b, rows, outs, ins);
    references.set(key, y);
  }
  return y;
}

async function check(gpu: Gpu, kernel: TiledLinear, format: WeightFormat, shape: number[]): Promise<Check> {
  const [rows, outs, ins] = shape;
  const tensorCores = kernel.kind === 'tensor-cores';
  const tolerance = 1e-5;
  const row: Check = { kernel: kernelName(kernel), weights: format, shape: `${rows}×${ins} · ${outs}×${ins}ᵀ`, error: NaN, errorVsF32X: NaN, tolerance, ok: false };
  const next = uniformStream(rows * 7919 + outs * 31 + ins);
  const x = next(rows * ins, 1);
  const stored = storedWeight(gpu, next(outs * ins, 1), format, outs, ins);
  const w = stored.values;
  const b = next(outs, 1);
  const weight: LinearWeight = { parts: [stored.tensor], outs, ins, bias: gpu.tensorFrom(b, 'f32', [outs]) };
  const xt = gpu.tensorFrom(x, 'f32', [rows, ins]);
  const y = gpu.tensor('f32', [rows, outs]);
  try {
    gpu.run((e) => linear(gpu, e, xt, weight, y, rows, { tiled: kernel }));
    const got = await gpu.readF32(y);
    const seen = (v: Float32Array) => (tensorCores ? roundThrough(v, 'f16') : v);
    const exact = reference(`${shape} ${format}`, x, w, b, shape);
    const rounded = tensorCores ? reference(`${shape} ${format} f16`, seen(x), seen(w), b, shape) : exact;
    row.error = maxAbsDiff(got, rounded) / Math.sqrt(ins);
    row.errorVsF32X = maxAbsDiff(got, exact) / Math.sqrt(ins);
    row.ok = row.error < tolerance;
  } catch (error) {
    row.failure = error instanceof Error ? error.message : String(error);
  } finally {
    destroyWeight(stored.tensor);
    for (const t of [weight.bias!, xt, y]) t.buffer.destroy();
  }
  return row;
}

/** A buffer of `floats` values in [-1, 1), written in pieces (the values do not matter for timing). */
function filledBuffer(gpu: Gpu, floats: number): GPUBuffer {
  const buffer = gpu.buffer(4 * floats);
  const piece = uniformStream(99)(1 << 20, 1);
  for (let at = 0; at < floats; at += piece.length) gpu.write(buffer, piece.subarray(0, Math.min(piece.length, floats - at)), 4 * at);
  return buffer;
}

/** About a second of the largest product, so that the first timings do not see the GPU's clocks rising. */
async function warmUp(gpu: Gpu, kernel: TiledLinear, xBuffer: GPUBuffer, yBuffer: GPUBuffer): Promise<void> {
  const [M, N, K] = [4096, 8192, 2048];
  const weight: LinearWeight = { parts: [gpu.tensor('f32', [N, K])], outs: N, ins: K };
  const x: Tensor = { buffer: xBuffer, dtype: 'f32', shape: [M, K] };
  const y: Tensor = { buffer: yBuffer, dtype: 'f32', shape: [M, N] };
  for (let i = 0; i < 10; i++) {
    gpu.run((e) => {
      for (let j = 0; j < 20; j++) linear(gpu, e, x, weight, y, M, { tiled: kernel });
    });
    await gpu.finish();
  }
  weight.parts[0].buffer.destroy();
}

const models = [
  { model: 'Qwen2.5-0.5B gate/up', N: 4864, K: 896 },
  { model: 'Qwen2.5-0.5B down', N: 896, K: 4864 },
  { model: 'Llama-3.2-1B gate/up', N: 8192, K: 2048 },
  { model: 'Llama-3.2-1B down', N: 2048, K: 8192 },
];

/** The checks' summary per kernel and the timings, as Markdown tables. */
function tables(checks: Check[], timings: TimingRow[]): string {
  const lines = ['| kernel | weights | checks within tolerance | worst error / √K | worst vs unrounded X / √K |', '|---|---|---|---|---|'];
  const groups = new Map<string, Check[]>();
  for (const c of checks) groups.set(`${c.kernel} | ${c.weights}`, [...(groups.get(`${c.kernel} | ${c.weights}`) ?? []), c]);
  for (const [key, group] of groups) {
    const worst = (f: (c: Check) => number) => Math.max(...group.map(f)).toExponential(1);
    lines.push(`| ${key} | ${group.filter((c) => c.ok).length}/${group.length} | ${worst((c) => c.error)} | ${worst((c) => c.errorVsF32X)} |`);
  }
  lines.push('', '| kernel | weights | layer | M | N | K | ms | TFLOP/s |', '|---|---|---|---|---|---|---|---|');
  for (const t of timings) lines.push(`| ${t.kernel} | ${t.weights} | ${t.model} | ${t.M} | ${t.N} | ${t.K} | ${t.ms.toFixed(3)} | ${t.tflops.toFixed(1)} |`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const gpu = await Gpu.create();
  const a = gpu.adapter;
  console.log(`adapter: ${a.description}; subgroups ${a.subgroupSizes.min}–${a.subgroupSizes.max}`);
  console.log(`features: ${a.features.join(' ')}`);
  console.log(`subgroup matrices: ${JSON.stringify(a.subgroupMatrixConfigs)}`);
  console.log(`workgroup memory: ${gpu.device.limits.maxComputeWorkgroupStorageSize} bytes`);
  const probe: LinearWeight = { parts: [storedWeight(gpu, new Float32Array(16), 'bf16', 4, 4).tensor], outs: 4, ins: 4 };
  const tensorCores = hasTensorCoresFor(gpu, probe);
  console.log(`tensor cores for 16-bit weights: ${tensorCores}; default at 4096 rows: ${kernelName(chooseTiledLinear(gpu, probe, 4096))}`);

  const checks: Check[] = [];
  const checkShapes = [[9, 5, 4], [33, 70, 40], [130, 200, 68], [257, 129, 132], [300, 1000, 896]];
  // Quantized rows are whole groups of 128 (q4g128's; q8 and q4 group by 32).
  const quantizedCheckShapes = [[9, 5, 128], [33, 70, 256], [130, 200, 384], [300, 1000, 896]];
  const plan: Array<[TiledLinear, WeightFormat[]]> = [
    ...f32Kernels.map((k): [TiledLinear, WeightFormat[]] => [k, ['f32', 'bf16']]),
    ...(tensorCores ? tensorCoreKernels.map((k): [TiledLinear, WeightFormat[]] => [k, ['f16', 'bf16', ...quantizedFormats]]) : []),
  ];
  for (const [kernel, formats] of plan) {
    for (const format of formats) {
      for (const shape of quantizedFormats.includes(format as never) ? quantizedCheckShapes : checkShapes) checks.push(await check(gpu, kernel, format, shape));
    }
  }
  for (const c of checks.filter((c) => !c.ok)) console.log(`FAILED ${c.kernel} ${c.weights} ${c.shape}: error ${c.error} ${c.failure ?? ''}`);
  const worst = (kind: string) => Math.max(...checks.filter((c) => c.kernel.startsWith(kind)).map((c) => c.error));
  console.log(`checks: ${checks.filter((c) => c.ok).length}/${checks.length} within tolerance; worst f32 ${worst('f32')}, tensor cores ${tensorCores ? worst('tensor') : '—'}`);

  const timings: TimingRow[] = [];
  const rowsList = quick ? [4096] : [512, 4096, 16384];
  const maxRows = Math.max(...rowsList);
  const maxK = Math.max(...models.map((m) => m.K));
  const maxN = Math.max(...models.map((m) => m.N));
  const xBuffer = filledBuffer(gpu, maxRows * maxK);
  const yBuffer = gpu.buffer(4 * maxRows * maxN);
  const failed = new Set(checks.filter((c) => !c.ok).map((c) => c.kernel));
  await warmUp(gpu, plan[0][0], xBuffer, yBuffer);
  for (const { model, N, K } of models) {
    const data = uniformStream(N + K)(N * K, 0.05);
    const weights = new Map<WeightFormat, WeightPart | Tensor>();
    for (const [kernel, formats] of plan) {
      if (failed.has(kernelName(kernel))) continue;
      // Each kernel with the weights the model would have (bf16 on tensor cores); the first f32 and the
      // first tensor-core kernel with every format they take.
      const everyFormat = kernel === plan[0][0] || kernel === tensorCoreKernels[0];
      for (const format of everyFormat ? formats.filter((f) => f !== 'f16') : formats.slice(0, 1).map((f) => (f === 'f16' ? 'bf16' : f))) {
        if (!weights.has(format)) weights.set(format, storedWeight(gpu, data, format, N, K).tensor);
        const weight: LinearWeight = { parts: [weights.get(format)!], outs: N, ins: K };
        for (const M of rowsList) {
          const x: Tensor = { buffer: xBuffer, dtype: 'f32', shape: [M, K] };
          const y: Tensor = { buffer: yBuffer, dtype: 'f32', shape: [M, N] };
          const [ms] = await timeInterleaved([{ gpu, record: (e) => linear(gpu, e, x, weight, y, M, { tiled: kernel }) }], 3, 300);
          const row: TimingRow = { kernel: kernelName(kernel), weights: format, model, M, N, K, ms, tflops: (2 * M * N * K) / (ms / 1000) / 1e12 };
          timings.push(row);
          console.log(`${row.kernel.padEnd(24)} ${format.padEnd(5)} ${model.padEnd(22)} M=${String(M).padEnd(6)} ${ms.toFixed(3).padStart(8)} ms ${row.tflops.toFixed(1).padStart(6)} TFLOP/s`);
        }
      }
    }
    for (const t of weights.values()) destroyWeight(t);
  }

  const report = { date: new Date().toISOString(), adapter: a.description, subgroupSizes: a.subgroupSizes, features: a.features, subgroupMatrixConfigs: a.subgroupMatrixConfigs, checks, timings };
  await mkdir(outDir, { recursive: true });
  await writeFile(`${outDir}/h200-prefill-kernels.json`, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(`${outDir}/h200-prefill-kernels.tables.md`, tables(checks, timings));
  console.log(`wrote ${outDir}/h200-prefill-kernels.json and .tables.md`);
  gpu.destroy();
  process.exit(checks.every((c) => c.ok) ? 0 : 1);
}

await main();
