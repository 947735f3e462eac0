// RMSNorm (Llama, Qwen, SmolLM, Gemma's (1 + w) variant) over whole hidden rows and, for the q_norm
// and k_norm of Qwen3 and Gemma 3, over each head.
import type { Gpu } from '../gpu.ts';
import type { Tensor } from '../tensor.ts';
import { foldedGrid } from './grid.ts';
import { reduceIncludes } from './reduce.ts';
import { uniformFields, type UniformLayout } from '../uniform-struct.ts';

const normParams = { rows: 'u32', dim: 'u32', eps: 'f32' } as const satisfies UniformLayout;

/** The shader's alias `W` for a norm weight: f32, or f16 on devices with shader-f16. */
function weightAlias(w: Tensor): 'f16' | 'f32' {
  return w.dtype === 'f16' ? 'f16' : 'f32';
}

export interface NormOptions {
  /** Scale by (weightOffset + weight): 1 for Gemma's norms. Default 0. */
  weightOffset?: number;
  /** y += the normalized x instead of y = (rmsNorm only). */
  accumulate?: boolean;
}

/** y[rows, dim] = x / sqrt(mean(x²) + eps) · weight, with dim = weight.shape[0]; y must not be x. */
export function rmsNorm(gpu: Gpu, encoder: GPUCommandEncoder, x: Tensor, weight: Tensor, y: Tensor, rows: number, eps: number, options: NormOptions = {}): void {
  const dim = weight.shape[0];
  const constants = { WEIGHT_OFFSET: options.weightOffset ?? 0, ACCUMULATE: options.accumulate ? 1 : 0 };
  const pipeline = gpu.pipeline('rms_norm', { aliases: { W: weightAlias(weight) }, includes: reduceIncludes(gpu), constants, structs: { Params: normParams } });
  const params = gpu.uniform(uniformFields(normParams, { rows, dim, eps }));
  gpu.dispatch(encoder, pipeline, [params, x.buffer, weight.buffer, y.buffer], foldedGrid(gpu, rows));
}

/** In place over x[rows, heads, headDim]: each head's vector normalized with weight[headDim]. */
export function headRmsNorm(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  x: Tensor,
  weight: Tensor,
  rows: number,
  heads: number,
  eps: number,
  options: Pick<NormOptions, 'weightOffset'> = {},
): void {
  const headDim = weight.shape[0];
  const vectors = rows * heads;
  const constants = { WEIGHT_OFFSET: options.weightOffset ?? 0 };
  const structs = { Params: normParams };
  const pipeline = gpu.pipeline('rms_norm', { aliases: { W: weightAlias(weight) }, includes: reduceIncludes(gpu), entryPoint: 'in_place', constants, structs });
  const params = gpu.uniform(uniformFields(normParams, { rows: vectors, dim: headDim, eps }));
  gpu.dispatch(encoder, pipeline, [params, x.buffer, weight.buffer], foldedGrid(gpu, vectors));
}
