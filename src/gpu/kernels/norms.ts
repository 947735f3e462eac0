// RMSNorm (Llama, Qwen, SmolLM) over whole hidden rows and, for Qwen3's q_norm/k_norm, over each head.
import type { Gpu } from '../gpu.ts';
import type { Tensor } from '../tensor.ts';
import { foldedGrid } from './grid.ts';
import { reduceIncludes } from './reduce.ts';

/** The shader's alias `W` for a norm weight: f32, or f16 on devices with shader-f16. */
function weightAlias(w: Tensor): 'f16' | 'f32' {
  return w.dtype === 'f16' ? 'f16' : 'f32';
}

/** y[rows, dim] = x / sqrt(mean(x²) + eps) · weight, with dim = weight.shape[0]; y must not be x. */
export function rmsNorm(gpu: Gpu, encoder: GPUCommandEncoder, x: Tensor, weight: Tensor, y: Tensor, rows: number, eps: number): void {
  const dim = weight.shape[0];
  const pipeline = gpu.pipeline('rms_norm', { aliases: { W: weightAlias(weight) }, includes: reduceIncludes(gpu) });
  const params = gpu.uniform([['u32', rows], ['u32', dim], ['f32', eps]]);
  gpu.dispatch(encoder, pipeline, [params, x.buffer, weight.buffer, y.buffer], foldedGrid(gpu, rows));
}

/** In place over x[rows, heads, headDim]: each head's vector normalized with weight[headDim]. */
export function headRmsNorm(gpu: Gpu, encoder: GPUCommandEncoder, x: Tensor, weight: Tensor, rows: number, heads: number, eps: number): void {
  const headDim = weight.shape[0];
  const vectors = rows * heads;
  const pipeline = gpu.pipeline('rms_norm', { aliases: { W: weightAlias(weight) }, includes: reduceIncludes(gpu), entryPoint: 'in_place' });
  const params = gpu.uniform([['u32', vectors], ['u32', headDim], ['f32', eps]]);
  gpu.dispatch(encoder, pipeline, [params, x.buffer, weight.buffer], foldedGrid(gpu, vectors));
}
