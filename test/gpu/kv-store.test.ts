import { describe, expect, it } from 'vitest';
import { kvStore } from '../../src/gpu/kernels/kv-store.ts';
import { testGpu } from '../support/gpu.ts';
import { randomArray } from '../support/random.ts';

/** The reference: row from + r of src over row to + order[r] of dst (its position relative to the run's first). */
function storeRef(src: Float32Array, dst: Float32Array, from: number, to: number, order: number[], width: number): Float32Array {
  const out = dst.slice();
  order.forEach((offset, r) => out.set(src.subarray((from + r) * width, (from + r + 1) * width), (to + offset) * width));
  return out;
}

describe('kvStore (rows of keys and values into a cache chunk)', () => {
  // [rows, width, from row, to row, first position, rows in position order (else reversed)]
  const cases: Array<[rows: number, width: number, from: number, to: number, position: number, inOrder: boolean]> = [
    [1, 128, 0, 0, 0, true],
    [1, 128, 3, 1000, 70000, true],
    [5, 7, 2, 11, 3, true],
    [5, 7, 2, 11, 400, false],
    [300, 64, 0, 17, 17, true],
    [1, 1, 0, 63, 9, true],
  ];
  for (const [rows, width, from, to, position, inOrder] of cases) {
    it(`rows=${rows} width=${width} from row ${from} to row ${to} holding position ${position}${inOrder ? '' : ', positions reversed'}, nothing else written`, async () => {
      const gpu = await testGpu();
      const capacity = to + rows + 3;
      const keys = randomArray((from + rows) * width, rows + width);
      const values = randomArray((from + rows) * width, rows + width + 1);
      const before = randomArray(capacity * width, 9);
      const cacheKeys = gpu.upload(before);
      const cacheValues = gpu.upload(before);
      const order = Array.from({ length: rows }, (_, r) => (inOrder ? r : rows - 1 - r));
      const positions = gpu.upload(Uint32Array.from({ length: from + rows }, (_, i) => (i < from ? 12345 : position + order[i - from])));
      gpu.run((encoder) =>
        kvStore(gpu, encoder, { keys: gpu.upload(keys), values: gpu.upload(values), row: from, positions }, { keys: cacheKeys, values: cacheValues, row: to, position }, rows, width),
      );
      expect((await gpu.readF32(cacheKeys)).subarray(0, capacity * width)).toEqual(storeRef(keys, before, from, to, order, width));
      expect((await gpu.readF32(cacheValues)).subarray(0, capacity * width)).toEqual(storeRef(values, before, from, to, order, width));
    });
  }
});
