import { describe, expect, it } from 'vitest';
import { kvStore } from '../../src/gpu/kernels/kv-store.ts';
import { testGpu } from '../support/gpu.ts';
import { randomArray } from '../support/random.ts';

/** The reference: rows [from, from + rows) of src copied over rows [to, to + rows) of dst. */
function storeRef(src: Float32Array, dst: Float32Array, from: number, to: number, rows: number, width: number): Float32Array {
  const out = dst.slice();
  out.set(src.subarray(from * width, (from + rows) * width), to * width);
  return out;
}

describe('kvStore (rows of keys and values into a cache chunk)', () => {
  const cases: Array<[rows: number, width: number, from: number, to: number]> = [
    [1, 128, 0, 0],
    [1, 128, 3, 1000],
    [5, 7, 2, 11],
    [300, 64, 0, 17],
    [1, 1, 0, 63],
  ];
  for (const [rows, width, from, to] of cases) {
    it(`rows=${rows} width=${width} from row ${from} to row ${to}, nothing else written`, async () => {
      const gpu = await testGpu();
      const capacity = to + rows + 3;
      const keys = randomArray((from + rows) * width, rows + width);
      const values = randomArray((from + rows) * width, rows + width + 1);
      const before = randomArray(capacity * width, 9);
      const cacheKeys = gpu.upload(before);
      const cacheValues = gpu.upload(before);
      gpu.run((encoder) =>
        kvStore(gpu, encoder, { keys: gpu.upload(keys), values: gpu.upload(values), row: from }, { keys: cacheKeys, values: cacheValues, row: to }, rows, width),
      );
      expect((await gpu.readF32(cacheKeys)).subarray(0, capacity * width)).toEqual(storeRef(keys, before, from, to, rows, width));
      expect((await gpu.readF32(cacheValues)).subarray(0, capacity * width)).toEqual(storeRef(values, before, from, to, rows, width));
    });
  }
});
