// How a weight matrix is stored on the GPU, and the shader include that reads it. Kernels that take a
// weight at binding 2 include `weight_f32` and call weight4/weight1; a pipeline for another format
// swaps that include for the format's file (shaders/weight_<format>.wgsl), which declares binding 2 to
// match. 16-bit formats keep the bytes as they are on disk and widen them to f32 in the shader, so they
// need no shader-f16 and compute exactly what f32 storage of the same numbers computes.
import type { IncludeSwaps } from '../shader-compose.ts';
import type { DType } from '../tensor.ts';

export type WeightFormat = 'f32' | 'f16' | 'bf16';

export const weightFormats: readonly WeightFormat[] = ['f32', 'f16', 'bf16'];

/** The include swap that makes a kernel read weights stored in `format`. */
export function weightIncludes(format: WeightFormat): IncludeSwaps {
  return format === 'f32' ? {} : { weight_f32: `weight_${format}` };
}

/** The format of a weight tensor from its element type. */
export function weightFormatOf(dtype: DType): WeightFormat {
  if (dtype === 'f32' || dtype === 'f16' || dtype === 'bf16') return dtype;
  throw new Error(`A weight cannot be stored as ${dtype}`);
}
