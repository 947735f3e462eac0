// Rows of keys and values appended to a KV cache chunk by a dispatch (shaders/kv_store.wgsl, or
// shaders/rope_kv_store.wgsl from a fused q, k, v projection, rotating them on the way), and the
// cache's element types: what the kernels that read cache chunks include to read them.
import type { Gpu } from '../gpu.ts';
import type { Tensor } from '../tensor.ts';
import type { IncludeSwaps } from '../shader-compose.ts';
import { foldedGrid } from './grid.ts';
import { uniformFields, type UniformLayout } from '../uniform-struct.ts';

/**
 * The KV cache's element type. f16 halves the cache (the largest buffer for long documents) and needs
 * no shader-f16: elements are packed two to a u32 (shaders/kv_f16.wgsl). Keys and values are rounded
 * to f16 once, when stored; attention computes in f32 as with an f32 cache.
 */
export type KvType = 'f32' | 'f16';

export const kvTypes: readonly KvType[] = ['f32', 'f16'];

/** Bytes of one cached key (or value) element. */
export function kvElementBytes(type: KvType): number {
  return type === 'f16' ? 2 : 4;
}

/** The include swap that makes a kernel read and write cache chunks of `type` (see kv_f32.wgsl). */
export function kvIncludes(type: KvType): IncludeSwaps {
  return type === 'f32' ? {} : { kv_f32: `kv_${type}` };
}

/** Elements one cache word holds: a row's width must be a multiple of it. */
export function kvElementsPerWord(type: KvType): number {
  return 4 / kvElementBytes(type);
}

const workgroupSize = 256;
const storeParams = {
  rows: 'u32',
  width: 'u32', // elements per row: kv_heads · head_dim (a multiple of KV_PER_WORD)
  src_row: 'u32',
  dst_minus_position: 'i32', // cache row − position, the same for every row of one run
} as const satisfies UniformLayout;

/** Rows of keys and values starting at `row` of their buffers ([rows, width] each). */
export interface KvRows {
  keys: GPUBuffer;
  values: GPUBuffer;
  row: number;
}

/**
 * Copies `rows` rows from `from` (f32; row r at position positions[from.row + r], u32) into `to` (the
 * cache, `type`), each where its position puts it: `to.row` holds `to.position` and the rows of one
 * run of positions follow. The parameters depend on the run, not on the rows' positions, so one decoded
 * token's commands serve the next token too. `width` elements a row.
 */
export function kvStore(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  from: KvRows & { positions: GPUBuffer },
  to: KvRows & { position: number },
  rows: number,
  width: number,
  type: KvType,
): void {
  const perWord = kvElementsPerWord(type);
  if (width % perWord !== 0) throw new Error(`A ${type} KV cache needs rows of a multiple of ${perWord} elements, not ${width}`);
  const params = gpu.uniform(uniformFields(storeParams, { rows, width, src_row: from.row, dst_minus_position: to.row - to.position }));
  const grid = foldedGrid(gpu, Math.ceil((rows * width) / perWord / workgroupSize));
  const pipeline = gpu.pipeline('kv_store', { includes: kvIncludes(type), constants: { WORKGROUP_SIZE: workgroupSize }, structs: { Params: storeParams } });
  gpu.dispatch(encoder, pipeline, [params, from.keys, from.values, to.keys, to.values, from.positions], grid);
}

const rotatedParams = {
  rows: 'u32',
  heads: 'u32',
  kv_heads: 'u32',
  head_dim: 'u32',
  half: 'u32', // rotated pairs a head (RoPE's frequencies); 0: none
  attention_scaling: 'f32',
  src_stride: 'u32', // elements per row of qkv: heads·headDim + 2·kvHeads·headDim
  k_col: 'u32', // first key element of a row of qkv
  v_col: 'u32',
  src_row: 'u32',
  dst_minus_position: 'i32',
} as const satisfies UniformLayout;

/** A layer's attention heads: queries, keys and values per row, each of headDim elements. */
export interface HeadShape {
  heads: number;
  kvHeads: number;
  headDim: number;
}

/** RoPE's inverse frequencies (f32 [rotary / 2]) and the factor cos and sin are scaled by. */
export interface RopeAngles {
  invFreq: Tensor;
  attentionScaling: number;
}

/**
 * A fused q, k, v projection's rows ([rows, heads·headDim + 2·kvHeads·headDim] f32: queries, keys,
 * values) from row `from.row`, rotated by RoPE at their positions (u32 at the same rows of
 * `from.positions`) and placed in one dispatch (shaders/rope_kv_store.wgsl): the queries into `from.q`
 * ([rows, heads·headDim], the same rows), the keys and values into the cache as kvStore places them.
 * `rope` undefined (a NoPE layer): nothing is rotated. The arithmetic is rope()'s and kvStore's.
 */
export function kvStoreRotated(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  from: { qkv: GPUBuffer; q: GPUBuffer; row: number; positions: GPUBuffer },
  to: KvRows & { position: number },
  rows: number,
  shape: HeadShape,
  rope: RopeAngles | undefined,
  type: KvType,
): void {
  const { heads, kvHeads, headDim } = shape;
  const perWord = kvElementsPerWord(type);
  if (headDim % perWord !== 0) throw new Error(`A ${type} KV cache written a head at a time needs head_dim a multiple of ${perWord}, not ${headDim}`);
  const half = rope ? rope.invFreq.shape[0] : 0;
  if (2 * half > headDim) throw new Error(`rope: ${half} frequencies do not fit head_dim ${headDim}`);
  const qWidth = heads * headDim;
  const kvWidth = kvHeads * headDim;
  const params = gpu.uniform(
    uniformFields(rotatedParams, {
      rows,
      heads,
      kv_heads: kvHeads,
      head_dim: headDim,
      half,
      attention_scaling: rope?.attentionScaling ?? 1,
      src_stride: qWidth + 2 * kvWidth,
      k_col: qWidth,
      v_col: qWidth + kvWidth,
      src_row: from.row,
      dst_minus_position: to.row - to.position,
    }),
  );
  const grid = foldedGrid(gpu, Math.ceil((rows * (heads + kvHeads) * headDim) / perWord / workgroupSize));
  const pipeline = gpu.pipeline('rope_kv_store', { includes: kvIncludes(type), constants: { WORKGROUP_SIZE: workgroupSize }, structs: { Params: rotatedParams } });
  // A NoPE layer's inv_freq is not read: the positions stand in for it.
  const invFreq = rope ? rope.invFreq.buffer : from.positions;
  gpu.dispatch(encoder, pipeline, [params, from.positions, invFreq, from.qkv, from.q, to.keys, to.values], grid);
}
