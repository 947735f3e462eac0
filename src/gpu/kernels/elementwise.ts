// Element-wise steps of a decoder layer: the residual add, the MLP's gated activation (SwiGLU's
// silu(gate) · up, Gemma's gelu_tanh(gate) · up), and in-place scaling and soft-capping.
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

export type GateActivation = 'silu' | 'gelu_tanh';
/** ACTIVATION in shaders/activation.wgsl. */
export const activationIds: Record<GateActivation, number> = { silu: 0, gelu_tanh: 1 };

/** out[i] = act(gate[i]) · up[i] for i < count; out may be gate. */
export function gatedActivation(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  activation: GateActivation,
  gate: Tensor,
  up: Tensor,
  out: Tensor,
  count: number,
): void {
  const params = gpu.uniform([['u32', count]]);
  const grid = elementGrid(gpu, count);
  const constants = { ACTIVATION: activationIds[activation] };
  if (out.buffer === gate.buffer) {
    gpu.dispatch(encoder, gpu.pipeline('gated_activation', { entryPoint: 'in_place', constants }), [params, gate.buffer, up.buffer], grid);
  } else {
    gpu.dispatch(encoder, gpu.pipeline('gated_activation', { constants }), [params, gate.buffer, up.buffer, out.buffer], grid);
  }
}

/** SwiGLU's gating, out[i] = silu(gate[i]) · up[i]; out may be gate. */
export function siluMul(gpu: Gpu, encoder: GPUCommandEncoder, gate: Tensor, up: Tensor, out: Tensor, count: number): void {
  gatedActivation(gpu, encoder, 'silu', gate, up, out, count);
}

/** x[i] *= s for i < count. */
export function scaleInPlace(gpu: Gpu, encoder: GPUCommandEncoder, x: Tensor, s: number, count: number): void {
  const params = gpu.uniform([['u32', count], ['f32', s]]);
  gpu.dispatch(encoder, gpu.pipeline('scale_softcap', { entryPoint: 'scale' }), [params, x.buffer], elementGrid(gpu, count));
}

/** x[i] = cap · tanh(x[i] / cap) for i < count (Gemma 2's final-logit soft-capping). */
export function softcapInPlace(gpu: Gpu, encoder: GPUCommandEncoder, x: Tensor, cap: number, count: number): void {
  if (!(cap > 0)) throw new Error(`soft-capping needs a positive cap, got ${cap}`);
  const params = gpu.uniform([['u32', count], ['f32', cap]]);
  gpu.dispatch(encoder, gpu.pipeline('scale_softcap', { entryPoint: 'softcap' }), [params, x.buffer], elementGrid(gpu, count));
}
