// The q8 and q4 GPU layouts (specified in src/gpu/kernels/weight-format.ts) on the CPU: group
// quantization at load from a 16/32-bit checkpoint, packing of already-quantized values (GPTQ, AWQ,
// GGUF), and the plain reference dequantizers the WGSL is tested against.
//   q8: symmetric, scale = max|x| / 127 (f16), q = round(x / scale) in [-127, 127]. int8 symmetric
//       loses nothing worth a zero point (an asymmetric grid gains < 1 bit of 8) and is GGUF's Q8_0.
//   q4: asymmetric, the grid [min(x, 0), max(x, 0)] in 15 steps, scale = range / 15 (f16), integer
//       zero = round(-min / scale), q = clamp(round(x / scale) + zero, 0, 15). With 16 levels a zero
//       point is worth having (one-signed groups use all 16), and GPTQ/AWQ need it anyway.
//   q4g128: q4's quantizer and layout over groups of 128.
import { quantGroupSize, type QuantizedFormat } from '../../gpu/kernels/weight-format.ts';
import { f16BitsToF32, f32ToF16Bits } from '../dtype.ts';

/** A quantized matrix as the GPU holds it: binding 2's words and binding 5's words. */
export interface PackedWeights {
  format: QuantizedFormat;
  data: Uint32Array;
  scales: Uint32Array;
}

export class QuantizationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuantizationError';
  }
}

const f16Max = 65504;

function checkGroups(count: number, groupSize: number, what: string): number {
  if (count % groupSize !== 0) {
    throw new QuantizationError(`${what}: ${count} elements are not whole groups of ${groupSize}`);
  }
  return count / groupSize;
}

/** f32 values, each rounded to the nearest f16, as the f16 bits and the f32 values of those bits. */
function toF16(values: Float32Array, what: string): { bits: Uint16Array; values: Float32Array } {
  for (const v of values) {
    if (!(Math.abs(v) <= f16Max)) throw new QuantizationError(`${what}: a group scale (${v}) is beyond f16's range`);
  }
  const bits = f32ToF16Bits(values);
  return { bits, values: f16BitsToF32(bits) };
}

/** int8 values and one f16 scale (bits) per group into the q8 layout. */
export function packQ8(q: Int8Array, scaleBits: Uint16Array): PackedWeights {
  if (q.length % 4 !== 0 || q.length / quantGroupSize('q8') !== scaleBits.length) {
    throw new QuantizationError(`packQ8: ${q.length} values do not match ${scaleBits.length} groups of ${quantGroupSize('q8')}`);
  }
  const data = new Uint32Array(q.buffer.slice(q.byteOffset, q.byteOffset + q.byteLength));
  const scales = new Uint32Array(Math.ceil(scaleBits.length / 2));
  new Uint16Array(scales.buffer).set(scaleBits);
  return { format: 'q8', data, scales };
}

/** uint4 values (0..15, one per byte) and per group f16 scale and zero point (bits) into the q4 (or q4g128) layout. */
export function packQ4(q: Uint8Array, scaleBits: Uint16Array, zeroBits: Uint16Array, format: 'q4' | 'q4g128' = 'q4'): PackedWeights {
  if (q.length / quantGroupSize(format) !== scaleBits.length || scaleBits.length !== zeroBits.length) {
    throw new QuantizationError(`packQ4: ${q.length} values do not match ${scaleBits.length} scales and ${zeroBits.length} zeros in groups of ${quantGroupSize(format)}`);
  }
  const data = new Uint32Array(q.length / 8);
  for (let e = 0; e < q.length; e++) data[e >>> 3] |= (q[e] & 0xf) << ((e & 7) * 4);
  const scales = new Uint32Array(scaleBits.length);
  for (let g = 0; g < scales.length; g++) scales[g] = (scaleBits[g] | (zeroBits[g] << 16)) >>> 0;
  return { format, data, scales };
}

/** Symmetric 8-bit group quantization (groups of 32 consecutive elements). */
export function quantizeQ8(values: Float32Array, what = 'quantizeQ8'): PackedWeights {
  const size = quantGroupSize('q8');
  const groups = checkGroups(values.length, size, what);
  const rawScales = new Float32Array(groups);
  for (let g = 0; g < groups; g++) {
    let max = 0;
    for (let i = g * size; i < (g + 1) * size; i++) max = Math.max(max, Math.abs(values[i]));
    rawScales[g] = max / 127;
  }
  const scales = toF16(rawScales, what);
  const q = new Int8Array(values.length);
  for (let e = 0; e < values.length; e++) {
    const scale = scales.values[e / size | 0];
    q[e] = scale === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(values[e] / scale)));
  }
  return packQ8(q, scales.bits);
}

/** Asymmetric 4-bit group quantization with an integer zero point (groups of 32 consecutive elements, or 128 for q4g128). */
export function quantizeQ4(values: Float32Array, what = 'quantizeQ4', format: 'q4' | 'q4g128' = 'q4'): PackedWeights {
  const size = quantGroupSize(format);
  const groups = checkGroups(values.length, size, what);
  const rawScales = new Float32Array(groups);
  const lows = new Float64Array(groups);
  for (let g = 0; g < groups; g++) {
    let low = 0;
    let high = 0;
    for (let i = g * size; i < (g + 1) * size; i++) {
      low = Math.min(low, values[i]);
      high = Math.max(high, values[i]);
    }
    rawScales[g] = (high - low) / 15;
    lows[g] = low;
  }
  const scales = toF16(rawScales, what);
  const zeros = new Float32Array(groups);
  for (let g = 0; g < groups; g++) {
    zeros[g] = scales.values[g] === 0 ? 0 : Math.max(0, Math.min(15, Math.round(-lows[g] / scales.values[g])));
  }
  const q = new Uint8Array(values.length);
  for (let e = 0; e < values.length; e++) {
    const g = e / size | 0;
    const scale = scales.values[g];
    q[e] = scale === 0 ? 0 : Math.max(0, Math.min(15, Math.round(values[e] / scale) + zeros[g]));
  }
  return packQ4(q, scales.bits, f32ToF16Bits(zeros), format);
}

/** Group quantization in `format`. */
export function quantize(format: QuantizedFormat, values: Float32Array, what?: string): PackedWeights {
  return format === 'q8' ? quantizeQ8(values, what) : quantizeQ4(values, what, format);
}

/**
 * The reference dequantizer of every quantized layout: elements [first, first + count) of the packed
 * matrix (default all) as f32. Only the scales of those elements' groups are widened, so one row of a
 * large matrix (the CPU embedding gather) costs one row.
 */
export function dequantize(packed: PackedWeights, first = 0, count = packed.data.length * (packed.format === 'q8' ? 4 : 8) - first): Float32Array {
  const size = quantGroupSize(packed.format);
  const firstGroup = Math.floor(first / size);
  const groups = Math.ceil((first + count) / size) - firstGroup;
  const halfWords = new Uint16Array(packed.scales.buffer, packed.scales.byteOffset, packed.scales.length * 2);
  const out = new Float32Array(count);
  if (packed.format === 'q8') {
    const scales = f16BitsToF32(halfWords.subarray(firstGroup, firstGroup + groups));
    const q = new Int8Array(packed.data.buffer, packed.data.byteOffset, packed.data.byteLength);
    for (let i = 0; i < count; i++) out[i] = q[first + i] * scales[((first + i) / size | 0) - firstGroup];
    return out;
  }
  // q4: per group the scale (even half) and the zero point (odd half).
  const halves = f16BitsToF32(halfWords.subarray(2 * firstGroup, 2 * (firstGroup + groups)));
  for (let i = 0; i < count; i++) {
    const e = first + i;
    const q = (packed.data[e >>> 3] >>> ((e & 7) * 4)) & 0xf;
    const g = (e / size | 0) - firstGroup;
    out[i] = (q - halves[2 * g + 1]) * halves[2 * g];
  }
  return out;
}
