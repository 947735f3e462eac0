// Rows of keys and values appended to a KV cache chunk by a dispatch (shaders/kv_store.wgsl), and the
// cache's element types: what the kernels that read cache chunks include to read them.
import type { Gpu } from '../gpu.ts';
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
