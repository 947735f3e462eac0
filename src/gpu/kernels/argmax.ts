// Greedy token choice on the GPU, so decoding reads back one u32 per row instead of a row of logits.
import type { Gpu } from '../gpu.ts';
import type { Tensor } from '../tensor.ts';
import { foldedGrid } from './grid.ts';
import { reduceIncludes } from './reduce.ts';
import { uniformFields, type UniformLayout } from '../uniform-struct.ts';

const argmaxParams = { rows: 'u32', vocab: 'u32' } as const satisfies UniformLayout;

/** out[row] (u32) = argmax of logits[row, :] over logits.shape[1] entries; ties give the lowest index. */
export function argmax(gpu: Gpu, encoder: GPUCommandEncoder, logits: Tensor, rows: number, out: GPUBuffer): void {
  const vocab = logits.shape[logits.shape.length - 1];
  const params = gpu.uniform(uniformFields(argmaxParams, { rows, vocab }));
  const pipeline = gpu.pipeline('argmax', { includes: reduceIncludes(gpu), structs: { Params: argmaxParams } });
  gpu.dispatch(encoder, pipeline, [params, logits.buffer, out], foldedGrid(gpu, rows));
}
