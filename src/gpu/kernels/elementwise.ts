// Element-wise steps of a decoder layer: the residual add, the MLP's gated activation (SwiGLU's
// silu(gate) · up, Gemma's gelu_tanh(gate) · up), and in-place scaling and soft-capping.
import type { Gpu } from '../gpu.ts';
import type { Tensor } from '../tensor.ts';
import { foldedGrid } from './grid.ts';
import { uniformFields, type UniformLayout } from '../uniform-struct.ts';

const workgroupSize = 256;
const countParams = { count: 'u32' } as const satisfies UniformLayout;
const scaleParams = { count: 'u32', s: 'f32' } as const satisfies UniformLayout;
/** shaders/gated_activation.wgsl's, for every entry point: `width` is read by `pairs` only. */
const gatingParams = { count: 'u32', width: 'u32' } as const satisfies UniformLayout;

function elementGrid(gpu: Gpu, count: number): [number, number] {
  return foldedGrid(gpu, Math.ceil(count / workgroupSize));
}

/** The residual add's pipeline (bindings: params {count}, x, acc), also the benchmarks' and tests' smallest kernel. */
export function addPipeline(gpu: Gpu): GPUComputePipeline {
  return gpu.pipeline('add', { constants: { WORKGROUP_SIZE: workgroupSize }, structs: { Params: countParams } });
}

/** acc[i] += x[i] for i < count (the residual stream). */
export function addInPlace(gpu: Gpu, encoder: GPUCommandEncoder, acc: Tensor, x: Tensor, count: number): void {
  const params = gpu.uniform(uniformFields(countParams, { count }));
  gpu.dispatch(encoder, addPipeline(gpu), [params, x.buffer, acc.buffer], elementGrid(gpu, count));
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
  const params = gpu.uniform(uniformFields(gatingParams, { count, width: 0 }));
  const grid = elementGrid(gpu, count);
  const options = { constants: { ACTIVATION: activationIds[activation], WORKGROUP_SIZE: workgroupSize }, structs: { Params: gatingParams } };
  if (out.buffer === gate.buffer) {
    gpu.dispatch(encoder, gpu.pipeline('gated_activation', { ...options, entryPoint: 'in_place' }), [params, gate.buffer, up.buffer], grid);
  } else {
    gpu.dispatch(encoder, gpu.pipeline('gated_activation', options), [params, gate.buffer, up.buffer, out.buffer], grid);
  }
}

/**
 * out[r, n] = act(gateUp[r, n]) · gateUp[r, width + n] for r < rows, n < width: the gating of a fused
 * gate and up projection's output (each row the gate's values, then the up's).
 */
export function gatedPairs(gpu: Gpu, encoder: GPUCommandEncoder, activation: GateActivation, gateUp: Tensor, out: Tensor, rows: number, width: number): void {
  const count = rows * width;
  const params = gpu.uniform(uniformFields(gatingParams, { count, width }));
  const constants = { ACTIVATION: activationIds[activation], WORKGROUP_SIZE: workgroupSize };
  const pipeline = gpu.pipeline('gated_activation', { entryPoint: 'pairs', constants, structs: { Params: gatingParams } });
  gpu.dispatch(encoder, pipeline, [params, gateUp.buffer, undefined, out.buffer], elementGrid(gpu, count));
}

/** SwiGLU's gating, out[i] = silu(gate[i]) · up[i]; out may be gate. */
export function siluMul(gpu: Gpu, encoder: GPUCommandEncoder, gate: Tensor, up: Tensor, out: Tensor, count: number): void {
  gatedActivation(gpu, encoder, 'silu', gate, up, out, count);
}

/** x[i] *= s for i < count. */
export function scaleInPlace(gpu: Gpu, encoder: GPUCommandEncoder, x: Tensor, s: number, count: number): void {
  const params = gpu.uniform(uniformFields(scaleParams, { count, s }));
  gpu.dispatch(encoder, scaleSoftcapPipeline(gpu, 'scale'), [params, x.buffer], elementGrid(gpu, count));
}

/** x[i] = cap · tanh(x[i] / cap) for i < count (Gemma 2's final-logit soft-capping). */
export function softcapInPlace(gpu: Gpu, encoder: GPUCommandEncoder, x: Tensor, cap: number, count: number): void {
  if (!(cap > 0)) throw new Error(`soft-capping needs a positive cap, got ${cap}`);
  const params = gpu.uniform(uniformFields(scaleParams, { count, s: cap }));
  gpu.dispatch(encoder, scaleSoftcapPipeline(gpu, 'softcap'), [params, x.buffer], elementGrid(gpu, count));
}

function scaleSoftcapPipeline(gpu: Gpu, entryPoint: 'scale' | 'softcap'): GPUComputePipeline {
  return gpu.pipeline('scale_softcap', { entryPoint, constants: { WORKGROUP_SIZE: workgroupSize }, structs: { Params: scaleParams } });
}
