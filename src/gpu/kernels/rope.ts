// Rotary position embedding (Hugging Face's rotate_half layout) applied in place to queries or keys.
// Layers whose q, k and v are one fused projection rotate them on the way into the KV cache instead
// (kvStoreRotated in kv-store.ts, the same arithmetic); this serves layers that keep them apart.
import type { Gpu } from '../gpu.ts';
import type { Tensor } from '../tensor.ts';
import { foldedGrid } from './grid.ts';
import { uniformFields, type UniformLayout } from '../uniform-struct.ts';

const workgroupSize = 256;
const ropeParams = {
  rows: 'u32',
  heads: 'u32', // heads of x, the queries
  head_dim: 'u32',
  half: 'u32',
  attention_scaling: 'f32',
  key_heads: 'u32', // heads of `keys`
} as const satisfies UniformLayout;

/**
 * Rotates the queries q[rows, heads, headDim] and the keys k[rows, kvHeads, headDim] in place by the
 * angles positions[row] · invFreq[j], in one dispatch.
 * positions: u32 per row, in any order (Star Attention's anchor rows keep positions 0..b-1 in front
 * of a block at i·b…). invFreq: f32 [rotary/2] from ropeInverseFrequencies(); dimensions past the
 * rotary size (partial rotary) are left as they are. cos and sin are scaled by attentionScaling.
 */
export function rope(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  q: Tensor,
  k: Tensor,
  positions: GPUBuffer,
  invFreq: Tensor,
  rows: number,
  heads: number,
  kvHeads: number,
  headDim: number,
  attentionScaling: number,
): void {
  const half = invFreq.shape[0];
  if (2 * half > headDim) throw new Error(`rope: ${half} frequencies do not fit head_dim ${headDim}`);
  const params = gpu.uniform(uniformFields(ropeParams, { rows, heads, head_dim: headDim, half, attention_scaling: attentionScaling, key_heads: kvHeads }));
  const grid = foldedGrid(gpu, Math.ceil((rows * half) / workgroupSize));
  const pipeline = gpu.pipeline('rope', { constants: { WORKGROUP_SIZE: workgroupSize }, structs: { Params: ropeParams } });
  gpu.dispatch(encoder, pipeline, [params, positions, invFreq.buffer, q.buffer, k.buffer], grid);
}
