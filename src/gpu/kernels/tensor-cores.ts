// Whether a device runs the project's tensor-core kernels (shaders/linear_subgroup_matrix.wgsl,
// shaders/flash_fragments.wgsl), which all use one subgroup-matrix shape and one fragment layout.
import type { Gpu } from '../gpu.ts';
import { subgroupMatrixFeature } from '../device.ts';

/** What the check reads of a Gpu (a plain object in tests of the choice). */
export type TensorCoreDevice = Pick<Gpu, 'device' | 'adapter' | 'hasF16' | 'hasSubgroups'>;

/**
 * Subgroup matrices of the shape the kernels are written for (f16 16×16×16 into f32), f16, and
 * subgroups of exactly 32 invocations, which the kernels' fragment layouts assume.
 */
export function hasTensorCores(gpu: TensorCoreDevice): boolean {
  const { subgroupSizes, subgroupMatrixConfigs } = gpu.adapter;
  return (
    gpu.device.features.has(subgroupMatrixFeature) &&
    gpu.hasF16 &&
    gpu.hasSubgroups &&
    subgroupSizes.min === 32 &&
    subgroupSizes.max === 32 &&
    subgroupMatrixConfigs.some((c) => c.componentType === 'f16' && c.resultComponentType === 'f32' && c.M === 16 && c.N === 16 && c.K === 16)
  );
}
