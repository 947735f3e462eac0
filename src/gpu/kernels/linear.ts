// Y = X·Wᵀ (+ b) (or Y += …) with W in Hugging Face's [out, in] layout in any weight format, f32
// accumulation.
// Two kernels with the same bindings and parameters: a tiled matrix product for prefill, and for the
// few rows of decoding a matrix–vector kernel that reads W once for all rows (bandwidth-bound).
import type { Gpu } from '../gpu.ts';
import type { Tensor } from '../tensor.ts';
import { foldedGrid } from './grid.ts';
import { reduceIncludes } from './reduce.ts';
import { weightFormatOf, weightIncludes, type WeightFormat, type WeightPart } from './weight-format.ts';

const tileM = 64;
const tileN = 64;
/**
 * Up to this many rows go to the matrix–vector kernel (MAX_ROWS in shaders/matvec.wgsl): measured on
 * lavapipe with a 4096×2048 weight it beat the tiled kernel, which computes a whole 64-row tile, 12× at
 * 1 row, 4.5× at 4 and 2× at 8 (f32 and f16 alike).
 */
export const maxMatvecRows = 8;
/**
 * OUTS_PER_GROUP in shaders/matvec.wgsl, with workgroups of 64 invocations. Measured on lavapipe
 * (1×896 and 8×896 · 4864×896ᵀ, f32, best of 11 interleaved runs on a loaded machine), invocations /
 * weight rows per workgroup, subgroup and workgroup-memory reductions:
 *   1 row:  64/4 18–22 ms and 19–28; 64/2 30 and 36–46; 64/8 17–27 and 20–34; 128/4 25–29 and 35–55;
 *           256/4 59–87 and 59–97.
 *   8 rows: 64/4 53 and 66; 64/2 52 and 72; 64/8 36 and 47; 128/4 61 and 80.
 * 64/8 needs 16 KiB of workgroup memory at 8 rows (WebGPU's default limit): 64/4 it is. The kernel this
 * replaced (teams of 64 invocations per weight row, 256 per workgroup, a tree over 8 × 256 sums) took
 * 52 ms at 1 row and 164 ms at 8 in the same run as 64/4's 33 and 51.
 */
const matvecOutsPerGroup = 4;

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
}

interface LinearKernel {
  pipeline: GPUComputePipeline;
  grid: (outs: number) => readonly [number, number];
}

function tiledKernel(gpu: Gpu, format: WeightFormat, rows: number): LinearKernel {
  return {
    pipeline: gpu.pipeline('linear', { includes: weightIncludes(format) }),
    grid: (outs) => [Math.ceil(outs / tileN), Math.ceil(rows / tileM)],
  };
}

function matvecKernel(gpu: Gpu, format: WeightFormat, rows: number): LinearKernel {
  return {
    pipeline: gpu.pipeline('matvec', { includes: { ...reduceIncludes(gpu), ...weightIncludes(format) }, constants: { ROWS: rows } }),
    grid: (outs) => foldedGrid(gpu, Math.ceil(outs / matvecOutsPerGroup)),
  };
}

/** A quantized part's scales (binding 5 of the format's include); undefined for the other formats. */
export function scalesOf(part: Tensor | WeightPart): GPUBuffer | undefined {
  return 'scales' in part ? part.scales : undefined;
}

const hasBias = 1;
const accumulate = 2;

/** y[rows, outs] = x[rows, ins] · wᵀ (+ bias), or y += that with options.accumulate. */
export function linear(gpu: Gpu, encoder: GPUCommandEncoder, x: Tensor, weight: LinearWeight, y: Tensor, rows: number, options: LinearOptions = {}): void {
  const format = weightFormatOf(weight.parts[0]);
  const kernel = rows <= maxMatvecRows ? matvecKernel(gpu, format, rows) : tiledKernel(gpu, format, rows);
  const bias = weight.bias;
  let col0 = 0;
  for (const part of weight.parts) {
    const outs = part.shape[0];
    const params = gpu.uniform([
      ['u32', rows],
      ['u32', outs],
      ['u32', weight.ins],
      ['u32', weight.outs],
      ['u32', col0],
      ['u32', (bias ? hasBias : 0) | (options.accumulate ? accumulate : 0)],
    ]);
    const biasBuffer = bias ? bias.buffer : part.buffer; // unread when has_bias = 0
    gpu.dispatch(encoder, kernel.pipeline, [params, x.buffer, part.buffer, biasBuffer, y.buffer, scalesOf(part)], kernel.grid(outs));
    col0 += outs;
  }
}
