import { describe, expect, it } from 'vitest';
import { kvStore, type KvType } from '../../src/gpu/kernels/kv-store.ts';
import { f16BitsToF32, f32ToF16Bits, roundThrough } from '../../src/model/dtype.ts';
import { testGpu } from '../support/gpu.ts';
import { randomArray } from '../support/random.ts';

/**
 * The reference: row from + r of src, rounded to the cache's type, over row to + order[r] of dst (its
 * position relative to the run's first).
 */
function storeRef(src: Float32Array, dst: Float32Array, from: number, to: number, order: number[], width: number, type: KvType): Float32Array {
  const out = dst.slice();
  order.forEach((offset, r) => out.set(roundThrough(src.subarray((from + r) * width, (from + r + 1) * width), type), (to + offset) * width));
  return out;
}

/** Positions of source rows [0, from + rows): rows before `from` are not copied; row from + r is at position + order[r]. */
function positionsOf(gpu: Awaited<ReturnType<typeof testGpu>>, from: number, position: number, order: number[]): GPUBuffer {
  return gpu.upload(Uint32Array.from({ length: from + order.length }, (_, i) => (i < from ? 12345 : position + order[i - from])));
}

/**
 * f32: exact. f16: WGSL lets pack2x16float round to either neighbour of a value, so each element may
 * be one f16 step (2^-10 relative, normal numbers) from the round-to-nearest reference, no more.
 */
function expectStored(got: Float32Array, want: Float32Array, type: KvType): void {
  if (type === 'f32') {
    expect(got).toEqual(want);
    return;
  }
  expect(got.length).toBe(want.length);
  const off = got.findIndex((g, i) => Math.abs(g - want[i]) > Math.abs(want[i]) * 2 ** -10);
  expect(off, off >= 0 ? `element ${off}: ${got[off]} vs ${want[off]}` : '').toBe(-1);
}

/** A cache chunk's bytes as its elements' values. */
async function readCache(gpu: Awaited<ReturnType<typeof testGpu>>, buffer: GPUBuffer, type: KvType, elements: number): Promise<Float32Array> {
  if (type === 'f32') return (await gpu.readF32(buffer)).subarray(0, elements);
  return f16BitsToF32(new Uint16Array(await gpu.read(buffer, elements * 2)));
}

function uploadCache(gpu: Awaited<ReturnType<typeof testGpu>>, values: Float32Array, type: KvType): GPUBuffer {
  return type === 'f32' ? gpu.upload(values) : gpu.upload(new Uint32Array(f32ToF16Bits(values).buffer));
}

describe('kvStore (rows of keys and values into a cache chunk)', () => {
  // [rows, width, from row, to row, the position to.row holds, rows in position order (else reversed), types]
  const cases: Array<[rows: number, width: number, from: number, to: number, position: number, inOrder: boolean, types: KvType[]]> = [
    [1, 128, 0, 0, 0, true, ['f32', 'f16']],
    [1, 128, 3, 1000, 70000, true, ['f32', 'f16']],
    [5, 7, 2, 11, 3, true, ['f32']],
    [5, 6, 2, 11, 400, false, ['f32', 'f16']],
    [300, 64, 0, 17, 17, true, ['f32', 'f16']],
    [1, 1, 0, 63, 9, true, ['f32']],
    [1, 2, 0, 63, 9, true, ['f16']],
  ];
  for (const [rows, width, from, to, position, inOrder, types] of cases) {
    for (const type of types) {
      const order = Array.from({ length: rows }, (_, r) => (inOrder ? r : rows - 1 - r));
      it(`${type}: rows=${rows} width=${width} from row ${from} to row ${to} holding position ${position}${inOrder ? '' : ', positions reversed'}, nothing else written`, async () => {
        const gpu = await testGpu();
        const capacity = to + rows + 3;
        const keys = randomArray((from + rows) * width, rows + width);
        const values = randomArray((from + rows) * width, rows + width + 1);
        const before = roundThrough(randomArray(capacity * width, 9), type);
        const cacheKeys = uploadCache(gpu, before, type);
        const cacheValues = uploadCache(gpu, before, type);
        const source = { keys: gpu.upload(keys), values: gpu.upload(values), row: from, positions: positionsOf(gpu, from, position, order) };
        gpu.run((encoder) => kvStore(gpu, encoder, source, { keys: cacheKeys, values: cacheValues, row: to, position }, rows, width, type));
        expectStored(await readCache(gpu, cacheKeys, type, capacity * width), storeRef(keys, before, from, to, order, width, type), type);
        expectStored(await readCache(gpu, cacheValues, type, capacity * width), storeRef(values, before, from, to, order, width, type), type);
      });
    }
  }

  it('f16: values past f16 range saturate at ±65504', async () => {
    const gpu = await testGpu();
    const keys = new Float32Array([70000, -1e9, 65504, -0.5]);
    const cache = uploadCache(gpu, new Float32Array(4), 'f16');
    const other = uploadCache(gpu, new Float32Array(4), 'f16');
    const source = { keys: gpu.upload(keys), values: gpu.upload(keys), row: 0, positions: positionsOf(gpu, 0, 0, [0]) };
    gpu.run((encoder) => kvStore(gpu, encoder, source, { keys: cache, values: other, row: 0, position: 0 }, 1, 4, 'f16'));
    expect(Array.from(await readCache(gpu, cache, 'f16', 4))).toEqual([65504, -65504, 65504, -0.5]);
  });

  it('refuses an f16 row of an odd width (two elements a word)', async () => {
    const gpu = await testGpu();
    const b = gpu.upload(new Float32Array(8));
    const source = { keys: b, values: b, row: 0, positions: positionsOf(gpu, 0, 0, [0]) };
    expect(() => gpu.run((encoder) => kvStore(gpu, encoder, source, { keys: b, values: b, row: 0, position: 0 }, 1, 3, 'f16'))).toThrow(
      /multiple of 2 elements, not 3/,
    );
  });
});
