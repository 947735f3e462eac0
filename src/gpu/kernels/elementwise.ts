// Element-wise steps of a decoder layer: the residual add and SwiGLU's silu(gate) · up.
import type { Gpu } from '../gpu.ts';
import type { Tensor } from '../tensor.ts';
import { foldedGrid } from './grid.ts';

const workgroupSize = 256;

function elementGrid(gpu: Gpu, count: number): [number, number] {
  return foldedGrid(gpu, Math.ceil(count / workgroupSize));
}

/** acc[i] += x[i] for i < count (the residual stream). */
export function addInPlace(gpu: Gpu, encoder: GPUCommandEncoder, acc: Tensor, x: Tensor, count: number): void {
  const params = gpu.uniform([['u32', count]]);
  gpu.dispatch(encoder, gpu.pipeline('add'), [params, x.buffer, acc.buffer], elementGrid(gpu, count));
}

/** out[i] = silu(gate[i]) · up[i] for i < count; out may be gate. */
export function siluMul(gpu: Gpu, encoder: GPUCommandEncoder, gate: Tensor, up: Tensor, out: Tensor, count: number): void {
  const params = gpu.uniform([['u32', count]]);
  const grid = elementGrid(gpu, count);
  if (out.buffer === gate.buffer) {
    gpu.dispatch(encoder, gpu.pipeline('silu_mul', { entryPoint: 'in_place' }), [params, gate.buffer, up.buffer], grid);
  } else {
    gpu.dispatch(encoder, gpu.pipeline('silu_mul'), [params, gate.buffer, up.buffer, out.buffer], grid);
  }
}
