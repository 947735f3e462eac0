// Greedy token choice on the GPU, so decoding reads back one u32 per row instead of a row of logits.
import type { Gpu } from '../gpu.ts';
import type { Tensor } from '../tensor.ts';
import { foldedGrid } from './grid.ts';
import { reduceIncludes } from './reduce.ts';

/** out[row] (u32) = argmax of logits[row, :] over logits.shape[1] entries; ties give the lowest index. */
export function argmax(gpu: Gpu, encoder: GPUCommandEncoder, logits: Tensor, rows: number, out: GPUBuffer): void {
  const vocab = logits.shape[logits.shape.length - 1];
  const params = gpu.uniform([['u32', rows], ['u32', vocab]]);
  gpu.dispatch(encoder, gpu.pipeline('argmax', { includes: reduceIncludes(gpu) }), [params, logits.buffer, out], foldedGrid(gpu, rows));
}
