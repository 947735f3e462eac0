// How a weight matrix is stored on the GPU, and the shader include that reads it. Kernels that take a
// weight at binding 2 include `weight_f32` and call weight4/weight1; a pipeline for another format
// swaps that include for the format's file (shaders/weight_<format>.wgsl), which declares binding 2 to
// match. 16-bit formats keep the bytes as they are on disk and widen them to f32 in the shader, so they
// need no shader-f16 and compute exactly what f32 storage of the same numbers computes.
// Quantized formats (q8, q4) also declare binding 5, the per-group scales (and q4's zero points):
//   q8: int8 values, 4 per u32 (element e in byte e % 4 of word e / 4); one f16 scale per 32
//       consecutive elements of a row, 2 per u32 (group g in the low half of word g / 2 when g is even);
//       value = q · scale. Symmetric: GGUF's Q8_0 is exactly this.
//   q4: uint4 values, 8 per u32 (element e in bits 4·(e % 8) of word e / 8); per group of 32 one u32
//       holding two f16, the scale (low half) and the zero point (high half); value = (q − zero) · scale.
//       Asymmetric, so GPTQ/AWQ (integer zeros) and GGUF's Q4_0 (zero 8) are stored exactly.
//       5 bits a weight.
//   q4g128: q4 with groups of 128: 4.25 bits a weight, what lets Llama-3.1-8B's layout and a 32K f16
//       cache fit in 8 GiB (bench/results/memory-formats.md), and how GPTQ/AWQ checkpoints of
//       group_size 128 (most of the Hub's) are published, so they are stored without repeating scales.
//       The shader is weight_q4.wgsl with its group size include (weight_q4_group32) swapped.
// Groups are counted over the row-major matrix (group of element e: e / G), which is "G along a
// row" because quantized matrices have rows of a multiple of G elements (loadWeights refuses others).
import type { IncludeSwaps } from '../shader-compose.ts';
import type { DType, Tensor } from '../tensor.ts';

export type WeightFormat = 'f32' | 'f16' | 'bf16' | 'q8' | 'q4' | 'q4g128';

export const weightFormats: readonly WeightFormat[] = ['f32', 'f16', 'bf16', 'q8', 'q4', 'q4g128'];

export type QuantizedFormat = 'q8' | 'q4' | 'q4g128';

/** Elements sharing one scale (and zero point) in a quantized format. */
export function quantGroupSize(format: QuantizedFormat): number {
  return format === 'q4g128' ? 128 : 32;
}

/** The 4-bit formats (one layout, two group sizes). */
export function isQ4(format: WeightFormat): format is 'q4' | 'q4g128' {
  return format === 'q4' || format === 'q4g128';
}

/** The binding at which a quantized format's include declares its scales buffer. */
export const weightScalesBinding = 5;

/**
 * One row range of a weight matrix on the GPU, as loadWeights makes it. Assignable to Tensor, so the
 * kernels that only know f32/f16/bf16 keep working; quantized kernels read `format` and `scales`.
 *   buffer: what binding 2 reads (for q8/q4 the packed u32 words; `dtype` is then 'u32');
 *   scales: what binding 5 reads, present exactly when the format is q8 or q4;
 *   shape:  the logical matrix [rows, ins] (or [ins] for a vector), in elements, whatever the packing.
 */
export interface WeightPart extends Tensor {
  readonly format: WeightFormat;
  readonly scales?: GPUBuffer;
}

export function isQuantized(format: WeightFormat): format is QuantizedFormat {
  return format === 'q8' || isQ4(format);
}

/** The include swap that makes a kernel read weights stored in `format`. */
export function weightIncludes(format: WeightFormat): IncludeSwaps {
  if (format === 'q4g128') return { weight_f32: 'weight_q4', weight_q4_group32: 'weight_q4_group128' };
  return format === 'f32' ? {} : { weight_f32: `weight_${format}` };
}

/** The format of a weight tensor: a WeightPart's own, else from its element type. */
export function weightFormatOf(weight: DType | WeightPart | Tensor): WeightFormat {
  if (typeof weight !== 'string') return 'format' in weight ? (weight as WeightPart).format : weightFormatOf(weight.dtype);
  if (weight === 'f32' || weight === 'f16' || weight === 'bf16') return weight;
  throw new Error(`A weight cannot be stored as ${weight}`);
}

/** GPU bytes of `elements` weights in `format` at binding 2 (data) and binding 5 (scales). */
export function weightBytes(format: WeightFormat, elements: number): { data: number; scales: number } {
  const groups = isQuantized(format) ? Math.ceil(elements / quantGroupSize(format)) : 0;
  switch (format) {
    case 'f32':
      return { data: elements * 4, scales: 0 };
    case 'f16':
    case 'bf16':
      return { data: Math.ceil(elements / 2) * 4, scales: 0 };
    case 'q8':
      return { data: Math.ceil(elements / 4) * 4, scales: Math.ceil(groups / 2) * 4 };
    case 'q4':
    case 'q4g128':
      return { data: Math.ceil(elements / 8) * 4, scales: groups * 4 };
  }
}
