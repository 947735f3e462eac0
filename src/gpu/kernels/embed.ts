// Token ids to hidden vectors, reading the embedding matrix through the same LinearWeight a tied
// lm_head uses, so the two share one copy of the weights.
import type { Gpu } from '../gpu.ts';
import type { Tensor } from '../tensor.ts';
import { foldedGrid } from './grid.ts';
import { scalesOf, type LinearWeight } from './linear.ts';
import { weightFormatOf, weightIncludes } from './weight-format.ts';

const workgroupSize = 256;

/** out[rows, hidden] = table[ids[row], :] as f32; ids ≥ vocab give zero rows. ids: u32 per row. */
export function embed(gpu: Gpu, encoder: GPUCommandEncoder, table: LinearWeight, ids: GPUBuffer, out: Tensor, rows: number): void {
  const hidden = table.ins;
  const pipeline = gpu.pipeline('embed', { includes: weightIncludes(weightFormatOf(table.parts[0])) });
  const grid = foldedGrid(gpu, Math.ceil((rows * hidden) / workgroupSize));
  let firstId = 0;
  table.parts.forEach((part, i) => {
    const rangeRows = part.shape[0];
    const isLast = i === table.parts.length - 1;
    const params = gpu.uniform([
      ['u32', rows],
      ['u32', hidden],
      ['u32', firstId],
      ['u32', rangeRows],
      ['u32', isLast ? 1 : 0],
    ]);
    gpu.dispatch(encoder, pipeline, [params, ids, part.buffer, out.buffer, undefined, scalesOf(part)], grid);
    firstId += rangeRows;
  });
}
