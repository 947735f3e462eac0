// A tensor is a GPU buffer with a shape and an element type, row-major, last dimension fastest.
export type DType = 'f32' | 'f16' | 'bf16' | 'u32' | 'i32';

export interface Tensor {
  readonly buffer: GPUBuffer;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export const bytesPerElement: Record<DType, number> = { f32: 4, f16: 2, bf16: 2, u32: 4, i32: 4 };

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function byteSize(t: { dtype: DType; shape: readonly number[] }): number {
  return elementCount(t.shape) * bytesPerElement[t.dtype];
}
