// RMSNorm (Llama, Qwen, SmolLM, Gemma's (1 + w) variant) over whole hidden rows and, for the q_norm
// and k_norm of Qwen3 and Gemma 3, over each head.
import type { Gpu } from '../gpu.ts';
import type { Tensor } from '../tensor.ts';
import { foldedGrid } from './grid.ts';
import { reduceIncludes } from './reduce.ts';
import { uniformFields, type UniformLayout } from '../uniform-struct.ts';

/** shaders/rms_norm.wgsl's, for every entry point: heads, key_heads and stride are heads_in_place's. */
const normParams = { rows: 'u32', dim: 'u32', eps: 'f32', heads: 'u32', key_heads: 'u32', stride: 'u32' } as const satisfies UniformLayout;
const onlyRows = { heads: 0, key_heads: 0, stride: 0 };

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
  const params = gpu.uniform(uniformFields(normParams, { rows, dim, eps, ...onlyRows }));
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
  const params = gpu.uniform(uniformFields(normParams, { rows: vectors, dim: headDim, eps, ...onlyRows }));
  // Binding 4 (heads_in_place's key weight) is declared by the function in_place shares; not read here.
  gpu.dispatch(encoder, pipeline, [params, x.buffer, weight.buffer, undefined, weight.buffer], foldedGrid(gpu, vectors));
}

/**
 * In place over the rows of a fused q, k, v projection, qkv[rows, (heads + 2·kvHeads)·headDim]: each
 * query head normalized with qWeight[headDim] and each key head with kWeight, as headRmsNorm does
 * (the same arithmetic), in one dispatch; the values are left as they are.
 */
export function qkHeadRmsNorm(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  qkv: Tensor,
  weights: { q: Tensor; k: Tensor },
  rows: number,
  heads: { q: number; kv: number },
  eps: number,
  options: Pick<NormOptions, 'weightOffset'> = {},
): void {
  const headDim = weights.q.shape[0];
  if (weights.k.shape[0] !== headDim || weights.k.dtype !== weights.q.dtype) throw new Error('q_norm and k_norm must have one length and element type');
  const vectors = rows * (heads.q + heads.kv);
  const constants = { WEIGHT_OFFSET: options.weightOffset ?? 0 };
  const structs = { Params: normParams };
  const pipeline = gpu.pipeline('rms_norm', { aliases: { W: weightAlias(weights.q) }, includes: reduceIncludes(gpu), entryPoint: 'heads_in_place', constants, structs });
  const stride = (heads.q + 2 * heads.kv) * headDim;
  const params = gpu.uniform(uniformFields(normParams, { rows, dim: headDim, eps, heads: heads.q, key_heads: heads.kv, stride }));
  gpu.dispatch(encoder, pipeline, [params, qkv.buffer, weights.q.buffer, undefined, weights.k.buffer], foldedGrid(gpu, vectors));
}
