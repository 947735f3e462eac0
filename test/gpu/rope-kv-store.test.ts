// The fused RoPE and KV-cache append of a fused q, k, v projection's rows (shaders/rope_kv_store.wgsl):
// bit for bit what rope() then kvStore() give on the same rows split into q, k and v, and against the
// plain references; f32 and f16 caches, partial rotary, a NoPE layer, rows from an offset, positions
// out of order and far along.
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { kvStore, kvStoreRotated, type HeadShape, type KvType } from '../../src/gpu/kernels/kv-store.ts';
import { rope } from '../../src/gpu/kernels/rope.ts';
import { f16BitsToF32, roundThrough } from '../../src/model/dtype.ts';
import { ropeRef } from '../reference/rope.ts';
import { testGpu } from '../support/gpu.ts';
import { maxAbsDiff, randomArray } from '../support/random.ts';

/** Columns [first, first + width) of each of `rows` rows of `stride` elements. */
function columns(x: Float32Array, rows: number, stride: number, first: number, width: number): Float32Array {
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(x.subarray(r * stride + first, r * stride + first + width), r * width);
  return out;
}

async function readCache(gpu: Gpu, buffer: GPUBuffer, type: KvType): Promise<Float32Array> {
  return type === 'f32' ? gpu.readF32(buffer) : f16BitsToF32(new Uint16Array(await gpu.read(buffer, buffer.size)));
}

interface Case {
  shape: HeadShape;
  /** Rotated pairs a head (0: a NoPE layer). */
  half: number;
  rows: number;
  /** Source rows before the first written (another piece's). */
  from: number;
  /** The cache row of the first position, and that position. */
  to: number;
  position: number;
  reversed: boolean;
  type: KvType;
}

const cases: Case[] = [
  { shape: { heads: 4, kvHeads: 1, headDim: 16 }, half: 8, rows: 1, from: 0, to: 0, position: 0, reversed: false, type: 'f32' },
  { shape: { heads: 4, kvHeads: 1, headDim: 16 }, half: 8, rows: 1, from: 0, to: 5, position: 70001, reversed: false, type: 'f16' },
  { shape: { heads: 3, kvHeads: 2, headDim: 10 }, half: 3, rows: 5, from: 2, to: 7, position: 300, reversed: true, type: 'f16' },
  { shape: { heads: 2, kvHeads: 2, headDim: 8 }, half: 0, rows: 3, from: 1, to: 0, position: 9, reversed: false, type: 'f32' },
  { shape: { heads: 6, kvHeads: 3, headDim: 14 }, half: 7, rows: 40, from: 0, to: 3, position: 1000, reversed: true, type: 'f32' },
];

describe('kvStoreRotated (RoPE and the KV-cache append in one dispatch)', () => {
  for (const c of cases) {
    const { heads, kvHeads, headDim } = c.shape;
    const name = `${c.type}: ${heads}/${kvHeads} heads of ${headDim}, ${c.half} pairs rotated, rows=${c.rows} from row ${c.from} to row ${c.to} at position ${c.position}${c.reversed ? ', reversed' : ''}`;
    it(name, async () => {
      const gpu = await testGpu();
      const qWidth = heads * headDim;
      const kvWidth = kvHeads * headDim;
      const stride = qWidth + 2 * kvWidth;
      const total = c.from + c.rows;
      const qkvValues = randomArray(total * stride, c.rows * 31 + headDim, 2);
      const order = Array.from({ length: c.rows }, (_, r) => (c.reversed ? c.rows - 1 - r : r));
      const positions = Uint32Array.from({ length: total }, (_, i) => (i < c.from ? 123456 : c.position + order[i - c.from]));
      const invFreqValues = Float32Array.from({ length: c.half }, (_, j) => 10000 ** (-j / Math.max(1, c.half)));
      const rope_ = c.half > 0 ? { invFreq: gpu.tensorFrom(invFreqValues, 'f32', [c.half]), attentionScaling: c.half === 3 ? 1.25 : 1 } : undefined;
      const capacity = c.to + c.rows + 2;
      const wordsPerRow = (kvWidth * (c.type === 'f16' ? 2 : 4)) / 4;
      const cacheBuffer = () => gpu.upload(new Uint32Array(capacity * wordsPerRow).fill(0x3c003c00));
      const positionsBuffer = gpu.upload(positions);
      const to = (keys: GPUBuffer, values: GPUBuffer) => ({ keys, values, row: c.to, position: c.position });

      // Fused.
      const qOut = gpu.upload(new Float32Array(total * qWidth).fill(7));
      const fused = { keys: cacheBuffer(), values: cacheBuffer() };
      const qkv = gpu.upload(qkvValues);
      gpu.run((enc) => kvStoreRotated(gpu, enc, { qkv, q: qOut, row: c.from, positions: positionsBuffer }, to(fused.keys, fused.values), c.rows, c.shape, rope_, c.type));

      // rope() then kvStore() on q, k and v apart.
      const q = gpu.tensorFrom(columns(qkvValues, total, stride, 0, qWidth), 'f32', [total, qWidth]);
      const k = gpu.tensorFrom(columns(qkvValues, total, stride, qWidth, kvWidth), 'f32', [total, kvWidth]);
      const v = gpu.upload(columns(qkvValues, total, stride, qWidth + kvWidth, kvWidth));
      const apart = { keys: cacheBuffer(), values: cacheBuffer() };
      gpu.run((enc) => {
        // rope() rotates every row from 0: the rows before `from` get rotated too, and are not compared.
        if (rope_) rope(gpu, enc, q, k, positionsBuffer, rope_.invFreq, total, heads, kvHeads, headDim, rope_.attentionScaling);
        kvStore(gpu, enc, { keys: k.buffer, values: v, row: c.from, positions: positionsBuffer }, to(apart.keys, apart.values), c.rows, kvWidth, c.type);
      });

      // Buffers may be padded past their contents.
      const gotQ = (await gpu.readF32(qOut)).subarray(0, total * qWidth);
      const apartQ = (await gpu.readF32(q)).subarray(0, total * qWidth);
      expect(Array.from(gotQ.subarray(0, c.from * qWidth))).toEqual(new Array(c.from * qWidth).fill(7)); // rows of other pieces untouched
      expect(Array.from(gotQ.subarray(c.from * qWidth))).toEqual(Array.from(apartQ.subarray(c.from * qWidth)));
      expect(Array.from(new Uint32Array(await gpu.read(fused.keys, fused.keys.size)))).toEqual(Array.from(new Uint32Array(await gpu.read(apart.keys, apart.keys.size))));
      expect(Array.from(new Uint32Array(await gpu.read(fused.values, fused.values.size)))).toEqual(Array.from(new Uint32Array(await gpu.read(apart.values, apart.values.size))));

      // The references: rotated rows, and the cache rows at their positions rounded to the cache's type.
      const rows = (x: Float32Array, width: number) => x.subarray(c.from * width);
      const rotate = (x: Float32Array, h: number) =>
        c.half > 0 ? ropeRef(x, positions.subarray(c.from), invFreqValues, c.rows, h, headDim, rope_!.attentionScaling) : x;
      const wantQ = rotate(rows(columns(qkvValues, total, stride, 0, qWidth), qWidth), heads);
      expect(maxAbsDiff(gotQ.subarray(c.from * qWidth), wantQ)).toBeLessThan(1e-5);
      const wantK = rotate(rows(columns(qkvValues, total, stride, qWidth, kvWidth), kvWidth), kvHeads);
      const wantV = rows(columns(qkvValues, total, stride, qWidth + kvWidth, kvWidth), kvWidth);
      const cacheKeys = await readCache(gpu, fused.keys, c.type);
      const cacheValues = await readCache(gpu, fused.values, c.type);
      order.forEach((offset, r) => {
        const at = (c.to + offset) * kvWidth;
        const tolerance = c.type === 'f16' ? 2e-3 * 4 : 1e-5;
        expect(maxAbsDiff(cacheKeys.subarray(at, at + kvWidth), roundThrough(wantK.subarray(r * kvWidth, (r + 1) * kvWidth), c.type))).toBeLessThan(tolerance);
        expect(maxAbsDiff(cacheValues.subarray(at, at + kvWidth), roundThrough(wantV.subarray(r * kvWidth, (r + 1) * kvWidth), c.type))).toBeLessThan(tolerance);
      });
    });
  }
});
