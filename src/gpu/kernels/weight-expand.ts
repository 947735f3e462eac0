// A weight row range in any storage format expanded to f32 on the GPU, through the format's include
// (shaders/weight_expand.wgsl): proves each format's WGSL against its TypeScript reference, and gives
// kernels that want f32 tiles of a quantized matrix a way to get them.
import type { Gpu } from '../gpu.ts';
import type { Tensor } from '../tensor.ts';
import { foldedGrid } from './grid.ts';
import { uniformFields, type UniformLayout } from '../uniform-struct.ts';
import { isQuantized, weightIncludes, weightScalesBinding, type WeightPart } from './weight-format.ts';

const workgroupSize = 64;
const expandParams = {
  count: 'u32',
  // 1: read element by element through weight1 instead of weight4 (both are tested).
  single: 'u32',
} as const satisfies UniformLayout;

export interface ExpandOptions {
  /** Read through weight1 (element by element) instead of weight4. */
  single?: boolean;
}

/** out (f32, the part's element count) = the part's weights as f32. */
export function expandWeight(gpu: Gpu, encoder: GPUCommandEncoder, part: WeightPart, out: Tensor, options: ExpandOptions = {}): void {
  const count = part.shape.reduce((a, b) => a * b, 1);
  if (count % 4 !== 0) throw new Error(`expandWeight needs a multiple of 4 elements, got ${count}`);
  if (out.dtype !== 'f32' || out.buffer.size < count * 4) throw new Error(`expandWeight needs an f32 output of ${count} elements`);
  const quantized = isQuantized(part.format);
  if (quantized !== (part.scales !== undefined)) {
    throw new Error(`A ${part.format} weight ${quantized ? 'needs' : 'has no use for'} a scales buffer`);
  }
  const pipeline = gpu.pipeline('weight_expand', { includes: weightIncludes(part.format), constants: { WORKGROUP_SIZE: workgroupSize }, structs: { Params: expandParams } });
  const params = gpu.uniform(uniformFields(expandParams, { count, single: options.single ? 1 : 0 }));
  const [x, y] = foldedGrid(gpu, Math.ceil(count / 4 / workgroupSize));
  // Bindings 0, 1, 2 and, for quantized formats, the scales (3 and 4 unused).
  const bindings: (GPUBuffer | undefined)[] = [params, out.buffer, part.buffer];
  if (part.scales) bindings[weightScalesBinding] = part.scales;
  gpu.dispatch(encoder, pipeline, Array.from(bindings), [x, y]);
}
