// Y = X·Wᵀ (+ b) (or Y += …) with W in Hugging Face's [out, in] layout in any weight format, f32
// accumulation. Kernels with the same bindings and parameters: for prefill a tiled matrix product, in
// f32 (shaders/linear.wgsl) or on tensor cores (shaders/linear_subgroup_matrix.wgsl, for 16-bit and
// quantized weights where the device has them); and for the few rows of decoding a matrix–vector kernel that reads W once
// for all rows (bandwidth-bound).
import type { AdapterReport } from '../device.ts';
import type { Gpu } from '../gpu.ts';
import type { Tensor } from '../tensor.ts';
import { activationIds, type GateActivation } from './elementwise.ts';
import { foldedGrid } from './grid.ts';
import { reduceIncludes } from './reduce.ts';
import { hasTensorCores } from './tensor-cores.ts';
import { weightFormatOf, weightIncludes, type WeightFormat, type WeightPart } from './weight-format.ts';
import { uniformFields, type UniformLayout } from '../uniform-struct.ts';

/**
 * Up to this many rows go to the matrix–vector kernel (MAX_ROWS in shaders/matvec.wgsl): measured on
 * lavapipe with a 4096×2048 weight it beat the tiled kernel, which computes a whole 64-row tile, 12× at
 * 1 row, 4.5× at 4 and 2× at 8 (f32 and f16 alike).
 */
export const maxMatvecRows = 8;
/**
 * How shaders/matvec.wgsl is laid out for one weight matrix: `threads` invocations share each group
 * of `outsPerGroup` weight rows, each with `unroll` loads of every row in flight at a time: vec4s, or
 * with `chunked` chunks of 32 elements (rows of a multiple of 32; others still go a vec4 at a time).
 */
export interface MatvecShape {
  threads: 32 | 64 | 128 | 256;
  outsPerGroup: 1 | 2 | 4;
  chunked: boolean;
  unroll: 1 | 2 | 4;
  /**
   * Tests: the subgroup reduction reads every slot, as it does for subgroups not formed from
   * consecutive invocations (shaders/matvec_reduce_subgroups.wgsl); the results must not change.
   */
  everySlot?: boolean;
}

/** Elements of one chunk of a weight row (CHUNK in shaders/matvec.wgsl). */
const matvecChunk = 32;

/** The formats a GPU reads in chunks, and the 16-byte loads of a chunk of 32 elements in each (the include's weight_chunk). */
const chunkLoads: Partial<Record<WeightFormat, number>> = { q8: 2, q4: 1, q4g128: 1 };

/** What chooseMatvec asks of a device (a Gpu has it). */
export interface MatvecDevice {
  adapter: Pick<AdapterReport, 'runsOnCpu'>;
  device: { limits: Pick<GPUSupportedLimits, 'maxComputeWorkgroupStorageSize'> };
}

/**
 * The matvec shape for a weight [outs, ins] in `format` and `rows` rows of X. A GPU reads memory at
 * full speed only with enough loads in flight on every core, and the grid should be large: rows of the
 * matrix are shared out one, two or four to a workgroup as the matrix grows (with four, x is loaded a
 * quarter as often, which matters once the workgroups are plenty).
 * - f32, f16, bf16 (and rows not a multiple of 32): vec4s, 4 of every row in flight per invocation.
 *   The shape depends on the matrix, never on which of the three formats, so that weights holding the
 *   same numbers give the same bits.
 * - q8, q4, q4g128 on rows of a multiple of 32: a vec4 of them is a 2- or 4-byte load plus a scale, so
 *   the kernel was bound by its load instructions; chunks of 32 elements are 16-byte loads. A row's
 *   chunks are shared out over the invocations, up to 4 chunks (8 loads) in flight, and a workgroup
 *   takes twice the rows (1 → 2, 2 → 4): x is loaded for more rows, and fewer, larger workgroups.
 *   Timed on an H100 (bench/matvec.ts): q4g128 Qwen2.5-0.5B's lm_head 139 µs in chunks against 170 in
 *   vec4s, Llama-3.2-1B's down 2048×8192 26 µs in chunks with one row a workgroup and 17 with two;
 *   whole-model decode of Qwen2.5-0.5B in q4g128 went from 377 to 455 tok/s. For f32 and bf16 chunks
 *   lost (Llama's lm_head: f32 1384 µs against 333 in vec4s, bf16 289 against 180; Qwen's decode in
 *   bf16 385 tok/s against about 430).
 * 64 invocations a workgroup everywhere: every figure above, and every GPU figure before, ran 64
 * whatever the shape said (THREADS did not reach the shader then); other counts are untimed on a GPU
 * (bench/matvec.ts times half, twice and 64 beside the choice). The partial sums' slots in workgroup
 * memory (one per invocation per sum) can make it fewer. A CPU adapter reads a vec4 at a time
 * (unrolled code costs lavapipe compile time and buys nothing, chunks' code made it compile 100 times
 * slower; on lavapipe Qwen2.5-0.5B's down 896×4864 took 5.5 ms a call with 64 invocations, 7.8 with
 * 128, 13.8 with 256) and four rows a workgroup (each workgroup has a fixed cost there: with one row,
 * lavapipe decoded the demo model at 42 tok/s at 1K context instead of 72).
 */
export function chooseMatvec(gpu: MatvecDevice, rows: number, outs: number, ins: number, folded: { norm: boolean }, format: WeightFormat): MatvecShape {
  const cpu = gpu.adapter.runsOnCpu;
  const loads = chunkLoads[format];
  const chunked = !cpu && loads !== undefined && ins % matvecChunk === 0;
  const base: MatvecShape['outsPerGroup'] = cpu || outs >= 32768 ? 4 : outs >= 4096 ? 2 : 1;
  const outsPerGroup: MatvecShape['outsPerGroup'] = chunked ? (base === 1 ? 2 : 4) : base;
  let threads: MatvecShape['threads'] = 64;
  let unroll: MatvecShape['unroll'];
  if (chunked) {
    const perInvocation = Math.floor(ins / matvecChunk / threads);
    unroll = ([4, 2, 1] as const).find((u) => u * loads <= 8 && u <= perInvocation) ?? 1;
  } else {
    unroll = cpu ? 1 : 4;
  }
  const shape = (t: MatvecShape['threads']): MatvecShape => ({ threads: t, outsPerGroup, chunked, unroll });
  while (threads > 32 && matvecSharedBytes(shape(threads), rows, folded.norm) > gpu.device.limits.maxComputeWorkgroupStorageSize) {
    threads = (threads / 2) as MatvecShape['threads'];
  }
  return shape(threads);
}

/** The shape GATE_UP runs for `shape`: it pairs a gate row with its up row in one workgroup, so two rows a workgroup at least. */
export function gateUpShape(shape: MatvecShape): MatvecShape {
  return shape.outsPerGroup === 1 ? { ...shape, outsPerGroup: 2 } : shape;
}

/**
 * Workgroup memory of a matvec shape: a slot per invocation per partial sum, the norm's scales, GATE_UP's
 * up totals, a layout word.
 */
function matvecSharedBytes(shape: MatvecShape, rows: number, norm: boolean): number {
  const sums = shape.outsPerGroup * rows + (norm ? rows : 0);
  return 4 * sums * shape.threads + 4 * maxMatvecRows + 4 * 2 * maxMatvecRows + 4;
}

/** A weight matrix [outs, ins], possibly split into row ranges that each fit one storage binding. */
export interface LinearWeight {
  /** Row ranges in order; rows of part i follow those of part i-1. */
  parts: readonly Tensor[];
  outs: number;
  ins: number;
  /** f32, whatever the weight's format. */
  bias?: Tensor;
}

export interface LinearOptions {
  /** y += x·wᵀ instead of y = x·wᵀ: the residual add done by the projection itself. */
  accumulate?: boolean;
  /**
   * Up to maxMatvecRows rows: the product is taken with RMSNorm(x) instead of x (the norm before a
   * projection folded into it; shaders/matvec.wgsl's NORM_INPUT). `weight` f32 [ins].
   */
  inputNorm?: InputNorm;
  /** Up to maxMatvecRows rows: y = act(gate) ⊙ x·wᵀ, the MLP's gating folded into the up projection. */
  gate?: { values: Tensor; activation: GateActivation };
  /**
   * Up to maxMatvecRows rows: `weight` is [Wgate; Wup] (2·outs rows, one part, no bias) and
   * y[rows, outs] = act(x·Wgateᵀ) ⊙ x·Wupᵀ, the MLP's two projections and gating in one dispatch
   * (shaders/matvec.wgsl's GATE_UP).
   */
  gateUp?: GateActivation;
  /** The kernel for more than maxMatvecRows rows, instead of chooseTiledLinear's (tests and benchmarks). */
  tiled?: TiledLinear;
  /** The matvec shape for up to maxMatvecRows rows, instead of chooseMatvec's (tests and benchmarks). */
  matvec?: MatvecShape;
}

export interface InputNorm {
  weight: Tensor;
  eps: number;
  /** Gemma scales by (1 + weight): 1; otherwise 0. */
  weightOffset: number;
}

interface LinearKernel {
  pipeline: GPUComputePipeline;
  grid: (outs: number) => readonly [number, number];
}

/**
 * A tiled kernel for many rows. 'f32': shaders/linear.wgsl with wgM × wgN invocations of 8×8 outputs.
 * 'tensor-cores': shaders/linear_subgroup_matrix.wgsl with sgM × sgN subgroups of 32×64 outputs. Both
 * walk K in slices of tileK.
 */
export type TiledLinear =
  | { kind: 'f32'; wgM: 8 | 16; wgN: 8 | 16; tileK: 8 | 16 | 32 }
  | { kind: 'tensor-cores'; sgM: 2 | 4; sgN: 1 | 2; tileK: 16 | 32 | 48 | 64 };

/** The parameters of every linear kernel (matvec, the f32 and tensor-core tiles): one layout. */
const linearParams = {
  rows: 'u32', // M (the matvec: equal to ROWS)
  outs: 'u32', // N in this dispatch
  ins: 'u32', // K
  y_stride: 'u32', // elements per row of Y
  y_col0: 'u32', // first column of Y written here
  flags: 'u32', // HAS_BIAS | ACCUMULATE
  eps: 'f32', // the matvec's NORM_INPUT: RMSNorm's epsilon
  norm_offset: 'f32', // the matvec's NORM_INPUT: 0, or 1 for Gemma's (1 + g)
} as const satisfies UniformLayout;
/** Bits of `flags`, shared with the shaders. */
const linearFlags = { HAS_BIAS: 1, ACCUMULATE: 2 };
/** What every linear pipeline is built with besides its own includes and constants. */
const linearDeclarations = { structs: { Params: linearParams }, shared: linearFlags };

/** Chunks of MAX_LOADS in shaders/linear_tiles.wgsl: 4-element loads per invocation per K slice. */
const maxLoads = 16;

/**
 * The formats that go to tensor cores: 16-bit and quantized weights (the kernel reads every format
 * through its weight4 and rounds it to f16, which the quantized formats' values survive as well as any
 * activation's). Each was checked against the CPU reference on an H100 (bench/h200-prefill.ts,
 * bench/results/h100-2026-12-07-s6/). f32 weights ask for f32 products.
 */
const tensorCoreFormats: readonly WeightFormat[] = ['f16', 'bf16', 'q8', 'q4', 'q4g128'];

/**
 * Whether linear layers with this weight go to tensor cores: 16-bit or quantized weights on a device
 * that has them (hasTensorCores: the subgroup-matrix shape, f16 and subgroups the kernel is written for).
 */
export function hasTensorCoresFor(gpu: Gpu, weight: LinearWeight): boolean {
  return tensorCoreFormats.includes(weightFormatOf(weight.parts[0])) && hasTensorCores(gpu);
}

/**
 * The tiled kernel for `rows` rows. Measured on the H200 (bench/results/h200-prefill-kernels.md, 4096
 * and 16384 rows of Qwen2.5-0.5B's and Llama-3.2-1B's MLP): f32 128×128 with K slices of 8 was the
 * fastest f32 tile (29–35 TFLOP/s; slices of 16 and 32, and 64-row or 64-column tiles, slower), and
 * 128×128 with K slices of 64 the fastest tensor-core tile (60–83 TFLOP/s; slices of 32 45–60). Up to
 * 64 rows take 64-row tiles so that fewer rows go to waste (not measured).
 */
export function chooseTiledLinear(gpu: Gpu, weight: LinearWeight, rows: number): TiledLinear {
  if (hasTensorCoresFor(gpu, weight)) return { kind: 'tensor-cores', sgM: rows <= 64 ? 2 : 4, sgN: 2, tileK: 64 };
  return { kind: 'f32', wgM: rows <= 64 ? 8 : 16, wgN: 16, tileK: 8 };
}

function tiledKernel(gpu: Gpu, weight: LinearWeight, rows: number, tiled: TiledLinear): LinearKernel {
  if (weight.ins % 4 !== 0) throw new Error(`The tiled linear kernels need inputs a multiple of 4 long, not ${weight.ins}`);
  const includes = weightIncludes(weightFormatOf(weight.parts[0]));
  let shader: string;
  let constants: Record<string, number>;
  let tile: { m: number; n: number; loads: number[]; sharedBytes: number };
  if (tiled.kind === 'f32') {
    const { wgM, wgN, tileK } = tiled;
    shader = 'linear';
    constants = { WG_M: wgM, WG_N: wgN, TILE_K: tileK };
    tile = { m: 8 * wgM, n: 8 * wgN, loads: [(2 * tileK) / wgN, (2 * tileK) / wgM], sharedBytes: 4 * tileK * 8 * (wgM + wgN) };
  } else {
    const { sgM, sgN, tileK } = tiled;
    shader = 'linear_subgroup_matrix';
    constants = { SG_M: sgM, SG_N: sgN, TILE_K: tileK };
    // Workgroup memory as declared for the largest tile: f16 rows of 64 + 8 for 128 rows of X and of W, and 8 scratch fragments.
    tile = { m: 32 * sgM, n: 64 * sgN, loads: [tileK / (4 * sgN), tileK / (2 * sgM)], sharedBytes: 2 * 2 * 128 * 72 + 4 * 8 * 256 };
  }
  if (tile.loads.some((n) => !Number.isInteger(n) || n < 1 || n > maxLoads)) {
    throw new Error(`Linear tile ${JSON.stringify(tiled)} does not split its K slices evenly into at most ${maxLoads} loads per invocation`);
  }
  const sharedLimit = gpu.device.limits.maxComputeWorkgroupStorageSize;
  if (tile.sharedBytes > sharedLimit) {
    throw new Error(`Linear tile ${JSON.stringify(tiled)} needs ${tile.sharedBytes} bytes of workgroup memory; this device has ${sharedLimit}`);
  }
  return {
    pipeline: gpu.pipeline(shader, { includes, constants, ...linearDeclarations }),
    grid: (outs) => [Math.ceil(outs / tile.n), Math.ceil(rows / tile.m)],
  };
}

function matvecKernel(gpu: Gpu, weight: LinearWeight, rows: number, options: LinearOptions): LinearKernel {
  const norm = options.inputNorm !== undefined;
  const format = weightFormatOf(weight.parts[0]);
  const chosen = options.matvec ?? chooseMatvec(gpu, rows, weight.outs, weight.ins, { norm }, format);
  const shape = options.gateUp ? gateUpShape(chosen) : chosen;
  const sums = shape.outsPerGroup * rows + (norm ? rows : 0);
  if (sums > shape.threads) throw new Error(`A matvec of ${shape.threads} invocations cannot hold ${sums} partial sums`);
  const shared = matvecSharedBytes(shape, rows, norm);
  if (shared > gpu.device.limits.maxComputeWorkgroupStorageSize) {
    throw new Error(`Matvec shape ${JSON.stringify(shape)} needs ${shared} bytes of workgroup memory for ${rows} rows; this device has ${gpu.device.limits.maxComputeWorkgroupStorageSize}`);
  }
  const constants = {
    ROWS: rows,
    THREADS: shape.threads,
    OUTS_PER_GROUP: shape.outsPerGroup,
    CHUNKED: shape.chunked ? 1 : 0,
    UNROLL: shape.unroll,
    NORM_INPUT: norm ? 1 : 0,
    GATED: options.gate ? 1 : 0,
    GATE_UP: options.gateUp ? 1 : 0,
    ACTIVATION: activationIds[options.gate?.activation ?? options.gateUp ?? 'silu'],
    ...(shape.everySlot ? { EVERY_SLOT: 1 } : {}),
  };
  const includes = { ...reduceIncludes(gpu), ...weightIncludes(format) };
  return {
    pipeline: gpu.pipeline('matvec', { includes, constants, ...linearDeclarations }),
    grid: (outs) => foldedGrid(gpu, Math.ceil(outs / (options.gateUp ? shape.outsPerGroup / 2 : shape.outsPerGroup))),
  };
}

/** A quantized part's scales (binding 5 of the format's include); undefined for the other formats. */
export function scalesOf(part: Tensor | WeightPart): GPUBuffer | undefined {
  return 'scales' in part ? part.scales : undefined;
}

/** y[rows, outs] = x[rows, ins] · wᵀ (+ bias), or y += that with options.accumulate. */
export function linear(gpu: Gpu, encoder: GPUCommandEncoder, x: Tensor, weight: LinearWeight, y: Tensor, rows: number, options: LinearOptions = {}): void {
  const folded = options.inputNorm || options.gate || options.gateUp;
  if (folded && rows > maxMatvecRows) throw new Error(`A norm or gating folded into a linear layer needs at most ${maxMatvecRows} rows, not ${rows}`);
  if (options.inputNorm && options.inputNorm.weight.dtype !== 'f32') throw new Error('A norm folded into a linear layer needs an f32 weight');
  const kernel =
    rows <= maxMatvecRows
      ? matvecKernel(gpu, weight, rows, options)
      : tiledKernel(gpu, weight, rows, options.tiled ?? chooseTiledLinear(gpu, weight, rows));
  const norm = options.inputNorm;
  // Bindings 6 and 7 are read only by the folds; otherwise x stands in for them.
  const folds = rows <= maxMatvecRows ? [options.gate?.values.buffer ?? x.buffer, norm?.weight.buffer ?? x.buffer] : [];
  const bias = weight.bias;
  if (options.gateUp && (weight.parts.length !== 1 || bias || options.gate || weight.outs % 2 !== 0)) {
    throw new Error('A fused gate and up projection needs one part of an even number of rows, no bias and no other gating');
  }
  // GATE_UP: outputs are pairs of weight rows.
  const yWidth = options.gateUp ? weight.outs / 2 : weight.outs;
  let col0 = 0;
  for (const part of weight.parts) {
    const outs = options.gateUp ? yWidth : part.shape[0];
    const params = gpu.uniform(
      uniformFields(linearParams, {
        rows,
        outs,
        ins: weight.ins,
        y_stride: yWidth,
        y_col0: col0,
        flags: (bias ? linearFlags.HAS_BIAS : 0) | (options.accumulate ? linearFlags.ACCUMULATE : 0),
        eps: norm?.eps ?? 0,
        norm_offset: norm?.weightOffset ?? 0,
      }),
    );
    const biasBuffer = bias ? bias.buffer : part.buffer; // unread when has_bias = 0
    gpu.dispatch(encoder, kernel.pipeline, [params, x.buffer, part.buffer, biasBuffer, y.buffer, scalesOf(part), ...folds], kernel.grid(outs));
    col0 += outs;
  }
}
