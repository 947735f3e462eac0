// Rows of keys and values appended to a KV cache chunk by a dispatch (shaders/kv_store.wgsl).
import type { Gpu } from '../gpu.ts';
import { foldedGrid } from './grid.ts';

/** Rows of keys and values starting at `row` of their buffers ([rows, width] f32 each). */
export interface KvRows {
  keys: GPUBuffer;
  values: GPUBuffer;
  row: number;
}

/**
 * Copies `rows` rows from `from` (row r at position positions[from.row + r], u32) into `to`, each
 * where its position puts it: `to.row` holds `to.position` and the rows of one run of positions follow.
 * The parameters depend on the run, not on the rows' positions, so one decoded token's commands serve
 * the next token too.
 */
export function kvStore(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  from: KvRows & { positions: GPUBuffer },
  to: KvRows & { position: number },
  rows: number,
  width: number,
): void {
  const params = gpu.uniform([
    ['u32', rows],
    ['u32', width],
    ['u32', from.row],
    ['i32', to.row - to.position],
  ]);
  const grid = foldedGrid(gpu, Math.ceil((rows * width) / 256));
  gpu.dispatch(encoder, gpu.pipeline('kv_store'), [params, from.keys, from.values, to.keys, to.values, from.positions], grid);
}
