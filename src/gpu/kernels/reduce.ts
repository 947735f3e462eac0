// Reductions over a workgroup come in two builds of the same WGSL functions, chosen once per device:
// workgroup memory and barriers (every device), or subgroup operations (one barrier) when the device
// has subgroups. Kernels include the first; a pipeline built with reduceIncludes swaps in the second.
//   shaders/workgroup_reduce.wgsl → shaders/subgroup_reduce.wgsl            rms_norm, argmax
//   shaders/matvec_reduce.wgsl    → shaders/matvec_reduce_subgroups.wgsl    matvec
import type { Gpu } from '../gpu.ts';
import type { IncludeSwaps } from '../shader-compose.ts';

const subgroupReductions: IncludeSwaps = {
  workgroup_reduce: 'subgroup_reduce',
  matvec_reduce: 'matvec_reduce_subgroups',
};

/** The `includes` of a pipeline whose shader includes one of the reductions above. */
export function reduceIncludes(gpu: Gpu): IncludeSwaps {
  return gpu.hasSubgroups ? subgroupReductions : {};
}
