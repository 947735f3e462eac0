// Rows of keys and values appended to a KV cache chunk by a dispatch (shaders/kv_store.wgsl).
import type { Gpu } from '../gpu.ts';
import { foldedGrid } from './grid.ts';

/** Rows of keys and values starting at `row` of their buffers ([rows, width] f32 each). */
export interface KvRows {
  keys: GPUBuffer;
  values: GPUBuffer;
  row: number;
}

/** to.keys/values rows [to.row, to.row + rows) = from's rows [from.row, …); width floats a row. */
export function kvStore(gpu: Gpu, encoder: GPUCommandEncoder, from: KvRows, to: KvRows, rows: number, width: number): void {
  // The target row moves on with every decoded token and is the same at every layer: a slot uniform.
  const params = gpu.slotUniform(encoder, 'kv_store', [
    ['u32', rows],
    ['u32', width],
    ['u32', from.row],
    ['u32', to.row],
  ]);
  const grid = foldedGrid(gpu, Math.ceil((rows * width) / 256));
  gpu.dispatch(encoder, gpu.pipeline('kv_store'), [params, from.keys, from.values, to.keys, to.values], grid);
}
