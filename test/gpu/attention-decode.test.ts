import { describe, expect, it } from 'vitest';
import { attentionDecode, decodeScratchBytes, type AttentionShape } from '../../src/gpu/kernels/attention.ts';
import type { KvType } from '../../src/gpu/kernels/kv-store.ts';
import { attentionRef, causalMask, lseDiff } from '../reference/attention.ts';
import { maxAbsDiff } from '../support/random.ts';
import { testGpu } from '../support/gpu.ts';
import {
  attentionOutput,
  attentionShape,
  concatKv,
  otherTiles,
  readOutput,
  testKv,
  testQuery,
  tolerance,
} from './attention-fixture.ts';

interface DecodeCase {
  name: string;
  shape: AttentionShape;
  rows: number;
  /** Lengths of consecutive spans of the cache, each in its own chunk buffer. */
  spans: number[];
  kvType?: KvType;
}

const cases: DecodeCase[] = [
  { name: '1 row, one span, GQA 4', shape: attentionShape(8, 2, 64), rows: 1, spans: [300] },
  { name: '4 rows, two spans, GQA 7, headDim 80', shape: attentionShape(7, 1, 80), rows: 4, spans: [300, 37] },
  { name: '1 row, three spans, MHA, headDim 128', shape: attentionShape(4, 4, 128), rows: 1, spans: [100, 37, 513] },
  { name: '4 rows, three spans, other tile configuration and split size', shape: attentionShape(8, 2, 64, otherTiles), rows: 4, spans: [300, 37, 513] },
  { name: '1 row, an empty span first, GQA 2, headDim 32', shape: attentionShape(4, 2, 32), rows: 1, spans: [0, 70] },
  { name: 'f16 cache: 1 row, two spans, GQA 4, headDim 128', shape: attentionShape(8, 2, 128), rows: 1, spans: [300, 37], kvType: 'f16' },
  { name: 'f16 cache: 4 rows, three spans, other tiles', shape: attentionShape(8, 2, 64, otherTiles), rows: 4, spans: [100, 37, 213], kvType: 'f16' },
  // Splits that are no multiple of the step; a head dim that is no multiple of 4 (nor of f16's pair).
  { name: 'f16 cache: splits of 50 keys, headDim 5', shape: attentionShape(6, 2, 5, { decode: { rows: 4 }, splitKeys: 50 }), rows: 2, spans: [130, 61], kvType: 'f16' },
  { name: 'f16 cache: headDim 65 (rows past the first 64 elements, starting mid-word)', shape: attentionShape(4, 2, 65), rows: 1, spans: [90], kvType: 'f16' },
  { name: '38 partials, the last one part-filled', shape: attentionShape(8, 2, 64, { splitKeys: 8 }), rows: 1, spans: [300] },
  { name: 'a GQA group of 16 rows, headDim 128', shape: attentionShape(16, 1, 128), rows: 1, spans: [150] },
];

describe('attentionDecode (split-KV over several spans, then lseMerge)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const gpu = await testGpu();
      const { shape, rows } = c;
      const total = c.spans.reduce((a, b) => a + b, 0);
      // The query rows are the cache's last tokens: the newest keys are masked for the earlier rows.
      const query = testQuery(gpu, shape, rows, total - rows, total + rows, 3);
      let position = 0;
      const kvs = c.spans.map((length, i) => {
        const kv = testKv(gpu, shape, length, position, 100 * i + 7, { start: 2 * i, capacity: 2 * i + length + 1, fill: NaN, dtype: c.kvType });
        position += length;
        return kv;
      });
      const spans = kvs.map((kv) => kv.span);
      const scratch = gpu.buffer(decodeScratchBytes(shape, rows, spans));
      const out = attentionOutput(gpu, shape, rows);
      gpu.run((enc) => attentionDecode(gpu, enc, shape, query.query, spans, scratch, out));
      const got = await readOutput(gpu, out, shape, rows);
      const keys = concatKv(kvs);
      const want = attentionRef(shape, query.q, rows, keys.k, keys.v, total, causalMask(query.positions, keys.positions));
      expect(maxAbsDiff(got.o, want.o)).toBeLessThan(tolerance.o);
      expect(lseDiff(got.lse, want.lse)).toBeLessThan(tolerance.lse);
    });
  }

  it('no keys at all gives O = 0 and LSE = −inf; too small a scratch is refused', async () => {
    const gpu = await testGpu();
    const shape = attentionShape(4, 2, 32);
    const query = testQuery(gpu, shape, 1, 0, 3);
    const empty = testKv(gpu, shape, 0, 0, 4, { capacity: 1 }).span;
    const out = attentionOutput(gpu, shape, 1);
    gpu.run((enc) => attentionDecode(gpu, enc, shape, query.query, [empty], gpu.buffer(decodeScratchBytes(shape, 1, [empty])), out));
    const got = await readOutput(gpu, out, shape, 1);
    expect(got.o.every((x) => x === 0)).toBe(true);
    expect(got.lse.every((x) => x <= -1e38)).toBe(true);

    const long = testKv(gpu, shape, 600, 0, 5).span;
    const small = gpu.buffer(decodeScratchBytes(shape, 1, [empty]));
    expect(() => gpu.run((enc) => attentionDecode(gpu, enc, shape, query.query, [long], small, out))).toThrow(/scratch/);
  });
});
