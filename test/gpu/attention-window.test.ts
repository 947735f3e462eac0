// Sliding windows and soft-capping in every attention kernel (flash_tile.wgsl's shared visibility
// check and score), against the double-precision reference: windows smaller than the sequence, so
// that some keys fall out of some queries' windows, including the Star Attention anchor (which a block
// far from the start does not see through its window: the rule transformer.ts's attendStarBlocks
// explains).
import { describe, expect, it } from 'vitest';
import { attentionBlockAnchor, attentionDecode, attentionPrefill, decodeScratchBytes, type AttentionShape } from '../../src/gpu/kernels/attention.ts';
import { attentionRef, causalMask, lseDiff, starMask, windowed } from '../reference/attention.ts';
import { maxAbsDiff } from '../support/random.ts';
import { testGpu } from '../support/gpu.ts';
import { attentionOutput, attentionShape, concatKv, otherTiles, readOutput, testKv, testQuery, tolerance } from './attention-fixture.ts';

function masked(shape: AttentionShape, window: number | undefined, softcap?: number): AttentionShape {
  return { ...shape, window, softcap };
}

describe('attentionPrefill with a sliding window and soft-capping', () => {
  const cases: Array<{ name: string; shape: AttentionShape; rows: number; keys: number }> = [
    { name: 'window 17 over 100 keys, GQA 2', shape: masked(attentionShape(4, 2, 32), 17), rows: 70, keys: 100 },
    { name: 'window 1: each query sees only its own key', shape: masked(attentionShape(2, 1, 32), 1), rows: 40, keys: 40 },
    { name: 'window 33 and softcap 1.5, other tiles, headDim 80', shape: masked(attentionShape(7, 1, 80, otherTiles), 33, 1.5), rows: 50, keys: 120 },
    { name: 'softcap 0.7 without a window', shape: masked(attentionShape(4, 2, 32), undefined, 0.7), rows: 30, keys: 64 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const gpu = await testGpu();
      const { shape, rows, keys } = c;
      // The queries are the span's last `rows` tokens.
      const query = testQuery(gpu, shape, rows, keys - rows, rows + keys, 3);
      const kv = testKv(gpu, shape, keys, 0, keys + 1, { start: 3, capacity: keys + 5, fill: NaN });
      const out = attentionOutput(gpu, shape, rows);
      gpu.run((enc) => attentionPrefill(gpu, enc, shape, query.query, kv.span, out));
      const got = await readOutput(gpu, out, shape, rows);
      const causal = causalMask(query.positions, kv.positions);
      const visible = shape.window === undefined ? causal : windowed(causal, shape.window, query.positions, kv.positions);
      const want = attentionRef(shape, query.q, rows, kv.k, kv.v, keys, visible);
      expect(maxAbsDiff(got.o, want.o)).toBeLessThan(tolerance.o);
      expect(lseDiff(got.lse, want.lse)).toBeLessThan(tolerance.lse);
      // The window and the cap change the result: the test would see them ignored.
      const plain = attentionRef({ ...shape, softcap: undefined }, query.q, rows, kv.k, kv.v, keys, causal);
      expect(maxAbsDiff(plain.o, want.o)).toBeGreaterThan(1e-2);
    });
  }
});

describe('attentionBlockAnchor with a sliding window: the anchor by true positions too', () => {
  // Blocks 2 and 3 (positions 96…191) of b = 48 with a 48-key anchor at positions 0…47.
  const b = 48;
  const first = 2 * b;
  const rows = 2 * b;
  const windows: Array<[window: number, what: string]> = [
    [60, 'the first rows of block 2 see the end of the anchor, later rows none of it'],
    [5, 'no anchor key in any window, softcap 2'],
    [200, 'everything visible, as without a window'],
  ];
  for (const [window, what] of windows) {
    it(`window ${window}: ${what}`, async () => {
      const gpu = await testGpu();
      const shape = masked(attentionShape(4, 2, 32), window, window === 5 ? 2 : undefined);
      const query = testQuery(gpu, shape, rows, first, window + 3, 3);
      const anchorKv = testKv(gpu, shape, b, 0, window + 5, { start: 1, capacity: b + 2, fill: NaN });
      const blocksKv = testKv(gpu, shape, rows, first, window + 7, { start: 2, capacity: rows + 4, fill: NaN });
      const out = attentionOutput(gpu, shape, rows);
      gpu.run((enc) => attentionBlockAnchor(gpu, enc, shape, query.query, anchorKv.span, blocksKv.span, b, out));
      const got = await readOutput(gpu, out, shape, rows);
      const keys = concatKv([anchorKv, blocksKv]);
      const visible = windowed(starMask(b, b, query.positions, keys.positions), window, query.positions, keys.positions);
      const want = attentionRef(shape, query.q, rows, keys.k, keys.v, b + rows, visible);
      expect(maxAbsDiff(got.o, want.o)).toBeLessThan(tolerance.o);
      expect(lseDiff(got.lse, want.lse)).toBeLessThan(tolerance.lse);
    });
  }
});

describe('attentionDecode with a sliding window over several spans', () => {
  const cases: Array<{ name: string; shape: AttentionShape; rows: number; spans: number[] }> = [
    { name: '1 row, window 50: the first two spans wholly outside', shape: masked(attentionShape(8, 2, 32), 50), rows: 1, spans: [100, 37, 300] },
    { name: '4 rows, window 300 across a span boundary, softcap 3, other tiles', shape: masked(attentionShape(7, 1, 80, otherTiles), 300, 3), rows: 4, spans: [300, 37, 120] },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const gpu = await testGpu();
      const { shape, rows } = c;
      const total = c.spans.reduce((a, n) => a + n, 0);
      const query = testQuery(gpu, shape, rows, total - rows, total + rows, 3);
      let position = 0;
      const kvs = c.spans.map((length, i) => {
        const kv = testKv(gpu, shape, length, position, 100 * i + 9, { start: i, capacity: i + length + 1, fill: NaN });
        position += length;
        return kv;
      });
      const spans = kvs.map((kv) => kv.span);
      const out = attentionOutput(gpu, shape, rows);
      gpu.run((enc) => attentionDecode(gpu, enc, shape, query.query, spans, gpu.buffer(decodeScratchBytes(gpu, shape, rows, spans)), out));
      const got = await readOutput(gpu, out, shape, rows);
      const keys = concatKv(kvs);
      const visible = windowed(causalMask(query.positions, keys.positions), shape.window!, query.positions, keys.positions);
      const want = attentionRef(shape, query.q, rows, keys.k, keys.v, total, visible);
      expect(maxAbsDiff(got.o, want.o)).toBeLessThan(tolerance.o);
      expect(lseDiff(got.lse, want.lse)).toBeLessThan(tolerance.lse);
    });
  }

  it('refuses a window that is not a positive integer and a non-positive cap', async () => {
    const gpu = await testGpu();
    const shape = attentionShape(4, 2, 32);
    const query = testQuery(gpu, shape, 1, 9, 1);
    const kv = testKv(gpu, shape, 10, 0, 2);
    const out = attentionOutput(gpu, shape, 1);
    expect(() => gpu.run((enc) => attentionPrefill(gpu, enc, masked(shape, 0), query.query, kv.span, out))).toThrow('window 0 must be a positive integer');
    expect(() => gpu.run((enc) => attentionPrefill(gpu, enc, masked(shape, 2.5), query.query, kv.span, out))).toThrow('window 2.5 must be a positive integer');
    expect(() => gpu.run((enc) => attentionPrefill(gpu, enc, masked(shape, undefined, -1), query.query, kv.span, out))).toThrow('softcap -1 must be positive');
  });
});
