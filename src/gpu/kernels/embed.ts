// Token ids to hidden vectors, reading the embedding matrix through the same LinearWeight a tied
// lm_head uses, so the two share one copy of the weights.
import type { Gpu } from '../gpu.ts';
import type { Tensor } from '../tensor.ts';
import { foldedGrid } from './grid.ts';
import { uniformFields, type UniformLayout } from '../uniform-struct.ts';
import { scalesOf, type LinearWeight } from './linear.ts';
import { weightFormatOf, weightIncludes } from './weight-format.ts';

const workgroupSize = 256;
const embedParams = {
  rows: 'u32',
  hidden: 'u32',
  first_id: 'u32', // vocabulary row of table[0] in this range
  range_rows: 'u32',
  is_last_range: 'u32',
} as const satisfies UniformLayout;

/** out[rows, hidden] = table[ids[row], :] as f32; ids ≥ vocab give zero rows. ids: u32 per row. */
export function embed(gpu: Gpu, encoder: GPUCommandEncoder, table: LinearWeight, ids: GPUBuffer, out: Tensor, rows: number): void {
  const hidden = table.ins;
  const includes = weightIncludes(weightFormatOf(table.parts[0]));
  const pipeline = gpu.pipeline('embed', { includes, constants: { WORKGROUP_SIZE: workgroupSize }, structs: { Params: embedParams } });
  const grid = foldedGrid(gpu, Math.ceil((rows * hidden) / workgroupSize));
  let firstId = 0;
  table.parts.forEach((part, i) => {
    const rangeRows = part.shape[0];
    const isLast = i === table.parts.length - 1;
    const params = gpu.uniform(uniformFields(embedParams, { rows, hidden, first_id: firstId, range_rows: rangeRows, is_last_range: isLast ? 1 : 0 }));
    gpu.dispatch(encoder, pipeline, [params, ids, part.buffer, out.buffer, undefined, scalesOf(part)], grid);
    firstId += rangeRows;
  });
}
