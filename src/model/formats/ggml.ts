// ggml's tensor data formats (ggml-common.h block structs, ggml-quants.c dequantize_row_*), the ones
// GGUF files of Llama/Qwen models use: F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q6_K. A reference
// dequantizer for each (float32 arithmetic in ggml's order, so the values are ggml's to the bit), and
// the conversion of a row range to what the loader stores:
//   F32/F16/BF16 → float rows (the loader converts them to the requested weight type);
//   Q8_0 → q8 and Q4_0 → q4 as they are (the same values: one f16 scale per 32, Q4_0's zero being 8);
//   Q4_K → q4 keeping every 4-bit value: a sub-block of 32 has value d·sc·q − dmin·m, i.e. scale d·sc
//     and zero dmin·m / (d·sc), each rounded to f16 (relative error ≤ 2⁻¹¹ of the sub-block's scale and
//     offset, far below the 4-bit step); a sub-block whose scale is 0 or whose zero overflows f16 is
//     requantized from its values;
//   Q6_K → q8 requantized from the values (6-bit values with 16-element sub-scales do not fit a q8
//     group exactly; the error is ≤ max|x|/254 a group).
import { bf16BitsToF32, f16BitsToF32, f32ToF16Bits } from '../dtype.ts';
import { packQ4, packQ8, quantizeQ4, quantizeQ8, type PackedWeights } from './quantize.ts';
import { WeightFormatError, type StoredRows } from './stored-tensor.ts';

export const ggmlType = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, Q4_K: 12, Q6_K: 14, BF16: 30 } as const;
export type GgmlTypeName = keyof typeof ggmlType;

/** Elements per block and bytes per block. */
const blocks: Record<GgmlTypeName, { elements: number; bytes: number }> = {
  F32: { elements: 1, bytes: 4 },
  F16: { elements: 1, bytes: 2 },
  BF16: { elements: 1, bytes: 2 },
  Q4_0: { elements: 32, bytes: 18 },
  Q8_0: { elements: 32, bytes: 34 },
  Q4_K: { elements: 256, bytes: 144 },
  Q6_K: { elements: 256, bytes: 210 },
};

export function ggmlTypeName(id: number): GgmlTypeName | undefined {
  return (Object.keys(ggmlType) as GgmlTypeName[]).find((name) => ggmlType[name] === id);
}

/** Bytes of one row of `ins` elements; throws when the row is not whole blocks. */
export function ggmlRowBytes(type: GgmlTypeName, ins: number, name: string): number {
  const block = blocks[type];
  if (ins % block.elements !== 0) throw new WeightFormatError(`GGUF tensor "${name}" (${type}) has rows of ${ins}, not whole blocks of ${block.elements}`);
  return (ins / block.elements) * block.bytes;
}

const f32 = Math.fround;

/** Every f16 bit pattern's value: block scales are read millions of times in a large file. */
let halfTable: Float32Array | undefined;

function halfAt(bytes: Uint8Array, at: number): number {
  halfTable ??= f16BitsToF32(Uint16Array.from({ length: 65536 }, (_, i) => i));
  return halfTable[bytes[at] | (bytes[at + 1] << 8)];
}

function halfBitsAt(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8);
}

/** Q4_K's 6-bit scale and min of sub-block j (get_scale_min_k4). */
function scaleMinK4(j: number, q: Uint8Array, at: number): [number, number] {
  if (j < 4) return [q[at + j] & 63, q[at + j + 4] & 63];
  return [(q[at + j + 4] & 0xf) | ((q[at + j - 4] >> 6) << 4), (q[at + j + 4] >> 4) | ((q[at + j] >> 6) << 4)];
}

/** Reference dequantizer: `count` elements of `type` data as f32, in ggml's arithmetic. */
export function dequantizeGgml(type: GgmlTypeName, bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const block = blocks[type];
  if (bytes.byteLength < (count / block.elements) * block.bytes) throw new WeightFormatError(`${type}: ${bytes.byteLength} bytes are too few for ${count} elements`);
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  switch (type) {
    case 'F32':
      out.set(new Float32Array(aligned.buffer, aligned.byteOffset, count));
      return out;
    case 'F16':
      return f16BitsToF32(new Uint16Array(aligned.slice(0, count * 2).buffer));
    case 'BF16':
      return bf16BitsToF32(new Uint16Array(aligned.slice(0, count * 2).buffer));
    case 'Q4_0':
      for (let b = 0; b < count / 32; b++) {
        const at = b * 18;
        const d = halfAt(bytes, at);
        for (let j = 0; j < 16; j++) {
          const q = bytes[at + 2 + j];
          out[b * 32 + j] = ((q & 0xf) - 8) * d;
          out[b * 32 + j + 16] = ((q >> 4) - 8) * d;
        }
      }
      return out;
    case 'Q8_0':
      for (let b = 0; b < count / 32; b++) {
        const at = b * 34;
        const d = halfAt(bytes, at);
        for (let j = 0; j < 32; j++) out[b * 32 + j] = ((bytes[at + 2 + j] << 24) >> 24) * d;
      }
      return out;
    case 'Q4_K':
      for (let b = 0; b < count / 256; b++) {
        const at = b * 144;
        const d = halfAt(bytes, at);
        const dmin = halfAt(bytes, at + 2);
        for (let j = 0; j < 4; j++) {
          const [sc1, m1] = scaleMinK4(2 * j, bytes, at + 4);
          const [sc2, m2] = scaleMinK4(2 * j + 1, bytes, at + 4);
          const [d1, o1, d2, o2] = [f32(d * sc1), f32(dmin * m1), f32(d * sc2), f32(dmin * m2)];
          for (let l = 0; l < 32; l++) {
            const q = bytes[at + 16 + 32 * j + l];
            out[b * 256 + 64 * j + l] = f32(d1 * (q & 0xf)) - o1;
            out[b * 256 + 64 * j + 32 + l] = f32(d2 * (q >> 4)) - o2;
          }
        }
      }
      return out;
    case 'Q6_K':
      for (let b = 0; b < count / 256; b++) {
        const at = b * 210;
        const d = halfAt(bytes, at + 208);
        for (let half = 0; half < 2; half++) {
          const ql = at + 64 * half;
          const qh = at + 128 + 32 * half;
          const sc = at + 192 + 8 * half;
          const y = b * 256 + 128 * half;
          const scale = (k: number) => f32(d * ((bytes[sc + k] << 24) >> 24));
          for (let l = 0; l < 32; l++) {
            const is = l >> 4;
            const h = bytes[qh + l];
            out[y + l] = scale(is) * (((bytes[ql + l] & 0xf) | ((h & 3) << 4)) - 32);
            out[y + l + 32] = scale(is + 2) * (((bytes[ql + l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32);
            out[y + l + 64] = scale(is + 4) * (((bytes[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32);
            out[y + l + 96] = scale(is + 6) * (((bytes[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32);
          }
        }
      }
      return out;
  }
}

const f16Eight = 0x4800;

function q4_0ToQ4(bytes: Uint8Array, count: number): PackedWeights {
  const q = new Uint8Array(count);
  const scaleBits = new Uint16Array(count / 32);
  for (let b = 0; b < count / 32; b++) {
    scaleBits[b] = halfBitsAt(bytes, b * 18);
    for (let j = 0; j < 16; j++) {
      const byte = bytes[b * 18 + 2 + j];
      q[b * 32 + j] = byte & 0xf;
      q[b * 32 + j + 16] = byte >> 4;
    }
  }
  return packQ4(q, scaleBits, new Uint16Array(count / 32).fill(f16Eight));
}

function q8_0ToQ8(bytes: Uint8Array, count: number): PackedWeights {
  const q = new Int8Array(count);
  const scaleBits = new Uint16Array(count / 32);
  for (let b = 0; b < count / 32; b++) {
    scaleBits[b] = halfBitsAt(bytes, b * 34);
    q.set(new Int8Array(bytes.buffer, bytes.byteOffset + b * 34 + 2, 32), b * 32);
  }
  return packQ8(q, scaleBits);
}

function q4_kToQ4(bytes: Uint8Array, count: number): PackedWeights {
  const groups = count / 32;
  const q = new Uint8Array(count);
  const scales = new Float32Array(groups);
  const zeros = new Float32Array(groups);
  for (let b = 0; b < count / 256; b++) {
    const at = b * 144;
    const d = halfAt(bytes, at);
    const dmin = halfAt(bytes, at + 2);
    for (let s = 0; s < 8; s++) {
      const [sc, m] = scaleMinK4(s, bytes, at + 4);
      const g = b * 8 + s;
      scales[g] = f32(d * sc);
      zeros[g] = f32(dmin * m) / scales[g];
      const shift = s % 2 === 0 ? 0 : 4;
      for (let l = 0; l < 32; l++) q[g * 32 + l] = (bytes[at + 16 + 32 * (s >> 1) + l] >> shift) & 0xf;
    }
  }
  const scaleBits = f32ToF16Bits(scales);
  const zeroBits = f32ToF16Bits(zeros);
  const packed = packQ4(q, scaleBits, zeroBits);
  // Sub-blocks (scale, zero) cannot hold in f16: requantized from their values.
  const values = dequantizeGgml('Q4_K', bytes, count);
  for (let g = 0; g < groups; g++) {
    if (scales[g] !== 0 && (zeroBits[g] & 0x7c00) !== 0x7c00) continue;
    const group = quantizeQ4(values.subarray(g * 32, g * 32 + 32));
    packed.data.set(group.data, g * 4);
    packed.scales[g] = group.scales[0];
  }
  return packed;
}

/** `rows` rows of `ins` elements of `type` data as the loader stores them (see the top of this file). */
export function ggmlRows(type: GgmlTypeName, bytes: Uint8Array, count: number): StoredRows {
  switch (type) {
    case 'F32':
    case 'F16':
    case 'BF16':
      return { kind: 'float', dtype: type, bytes };
    case 'Q4_0':
      return { kind: 'packed', packed: q4_0ToQ4(bytes, count) };
    case 'Q8_0':
      return { kind: 'packed', packed: q8_0ToQ8(bytes, count) };
    case 'Q4_K':
      return { kind: 'packed', packed: q4_kToQ4(bytes, count) };
    case 'Q6_K':
      return { kind: 'packed', packed: quantizeQ8(dequantizeGgml('Q6_K', bytes, count)) };
  }
}

/** The GPU format a tensor of `type` takes (float types: undefined, the requested weight type decides). */
export function ggmlQuantizedFormat(type: GgmlTypeName): 'q8' | 'q4' | undefined {
  if (type === 'Q4_0' || type === 'Q4_K') return 'q4';
  if (type === 'Q8_0' || type === 'Q6_K') return 'q8';
  return undefined;
}
