import { describe, expect, it } from 'vitest';
import { attentionPrefill, lseMerge, type AttentionShape } from '../../src/gpu/kernels/attention.ts';
import { attentionRef, causalMask, lseDiff } from '../reference/attention.ts';
import { maxAbsDiff } from '../support/random.ts';
import { testGpu } from '../support/gpu.ts';
import {
  attentionOutput,
  attentionShape,
  otherTiles,
  readOutput,
  testKv,
  testQuery,
  type SpanOptions,
  tolerance,
} from './attention-fixture.ts';

interface Case {
  name: string;
  shape: AttentionShape;
  rows: number;
  qFirst: number;
  keys: number;
  kFirst: number;
  span?: SpanOptions;
  magnitude?: number;
}

const cases: Case[] = [
  { name: 'one row, one key', shape: attentionShape(1, 1, 16), rows: 1, qFirst: 0, keys: 1, kFirst: 0 },
  { name: 'one row after the keys (phase 2), GQA 2', shape: attentionShape(4, 2, 32), rows: 1, qFirst: 50, keys: 37, kFirst: 0 },
  { name: 'partial tiles, GQA 7, headDim 80', shape: attentionShape(7, 1, 80), rows: 13, qFirst: 0, keys: 13, kFirst: 0 },
  { name: 'long causal self-attention, GQA 4', shape: attentionShape(8, 2, 64), rows: 300, qFirst: 0, keys: 300, kFirst: 0, magnitude: 3 },
  {
    name: 'span inside a bigger buffer, headDim 128, MHA',
    shape: attentionShape(2, 2, 128),
    rows: 300,
    qFirst: 0,
    keys: 300,
    kFirst: 0,
    span: { start: 40, capacity: 400, fill: 1e6 },
  },
  {
    name: 'query after all keys (phase 2), span at start > 0, GQA 4, headDim 128',
    shape: attentionShape(8, 2, 128),
    rows: 20,
    qFirst: 250,
    keys: 250,
    kFirst: 0,
    span: { start: 7, capacity: 300 },
  },
  {
    name: 'later block against earlier keys, GQA 7, headDim 32',
    shape: attentionShape(14, 2, 32),
    rows: 45,
    qFirst: 1000,
    keys: 70,
    kFirst: 960,
    span: { start: 3, capacity: 90 },
  },
  { name: 'headDim 30 (not a multiple of 4), GQA 3', shape: attentionShape(6, 2, 30), rows: 50, qFirst: 20, keys: 70, kFirst: 0 },
  { name: 'first rows see no key (O = 0, LSE = −inf), headDim 16', shape: attentionShape(4, 4, 16), rows: 33, qFirst: 0, keys: 40, kFirst: 10 },
  {
    name: 'f16 cache: span inside a bigger buffer, GQA 4, headDim 64',
    shape: attentionShape(8, 2, 64),
    rows: 70,
    qFirst: 0,
    keys: 70,
    kFirst: 0,
    span: { start: 9, capacity: 100, fill: NaN, dtype: 'f16' },
  },
  { name: 'f16 cache: headDim 30, GQA 3', shape: attentionShape(6, 2, 30), rows: 50, qFirst: 20, keys: 70, kFirst: 0, span: { dtype: 'f16' } },
];

describe('attentionPrefill (flash attention, causal by position)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const gpu = await testGpu();
      const seed = c.rows * 131 + c.keys * 7 + c.shape.headDim;
      const query = testQuery(gpu, c.shape, c.rows, c.qFirst, seed, c.magnitude);
      const kv = testKv(gpu, c.shape, c.keys, c.kFirst, seed + 10, c.span);
      const out = attentionOutput(gpu, c.shape, c.rows);
      gpu.run((enc) => attentionPrefill(gpu, enc, c.shape, query.query, kv.span, out));
      const got = await readOutput(gpu, out, c.shape, c.rows);
      const want = attentionRef(c.shape, query.q, c.rows, kv.k, kv.v, c.keys, causalMask(query.positions, kv.positions));
      expect(maxAbsDiff(got.o, want.o)).toBeLessThan(tolerance.o);
      expect(lseDiff(got.lse, want.lse)).toBeLessThan(tolerance.lse);
    });
  }

  it('never reads keys after the last query position (poisoned with NaN)', async () => {
    const gpu = await testGpu();
    const shape = attentionShape(4, 2, 64);
    const rows = 70;
    const query = testQuery(gpu, shape, rows, 0, 5);
    // 70 visible keys, then 130 keys at later positions that no query may see.
    const kv = testKv(gpu, shape, 200, 0, 6);
    const row = shape.kvHeads * shape.headDim;
    const nan = new Float32Array(130 * row).fill(NaN);
    gpu.write(kv.span.keys, nan, rows * row * 4);
    gpu.write(kv.span.values, nan, rows * row * 4);
    const out = attentionOutput(gpu, shape, rows);
    gpu.run((enc) => attentionPrefill(gpu, enc, shape, query.query, kv.span, out));
    const got = await readOutput(gpu, out, shape, rows);
    const want = attentionRef(shape, query.q, rows, kv.k, kv.v, 200, causalMask(query.positions, kv.positions));
    expect(maxAbsDiff(got.o, want.o)).toBeLessThan(tolerance.o);
    expect(lseDiff(got.lse, want.lse)).toBeLessThan(tolerance.lse);
  });

  // Keys in splits, each split a partial slot, merged: what a GPU runs (prefillSplits); CPU adapters
  // do not split on their own, so these ask for it.
  const splitCases: Array<Case & { splitKeys: number; slot: number }> = [
    // Early query tiles see fewer keys than the later splits start at: their splits are empty.
    { name: 'causal self-attention, GQA 4, 5 splits of 64', shape: attentionShape(8, 2, 64), rows: 300, qFirst: 0, keys: 300, kFirst: 0, splitKeys: 64, slot: 0 },
    {
      name: 'phase 2 (every key before the rows), f16 cache, span at start > 0, GQA 7, 3 splits into slots 2–4',
      shape: attentionShape(14, 2, 64),
      rows: 20,
      qFirst: 250,
      keys: 250,
      kFirst: 0,
      span: { start: 7, capacity: 300, dtype: 'f16' },
      splitKeys: 96,
      slot: 2,
    },
    { name: 'headDim 128, MHA, splits not a multiple of the tile keys', shape: attentionShape(2, 2, 128), rows: 40, qFirst: 60, keys: 100, kFirst: 0, splitKeys: 30, slot: 1 },
  ];
  for (const c of splitCases) {
    it(`in splits: ${c.name}`, async () => {
      const gpu = await testGpu();
      const seed = c.rows * 17 + c.keys;
      const query = testQuery(gpu, c.shape, c.rows, c.qFirst, seed);
      const kv = testKv(gpu, c.shape, c.keys, c.kFirst, seed + 10, c.span);
      const count = Math.ceil(c.keys / c.splitKeys);
      const partials = attentionOutput(gpu, c.shape, c.rows, c.slot + count);
      const out = attentionOutput(gpu, c.shape, c.rows);
      gpu.run((enc) => {
        // The slots before `slot`: splits of an empty span (O = 0, LSE = −inf), which the merge weighs as 0.
        if (c.slot > 0) attentionPrefill(gpu, enc, c.shape, query.query, { ...kv.span, length: 0 }, partials, { count: c.slot, keys: 1, slot: 0 });
        attentionPrefill(gpu, enc, c.shape, query.query, kv.span, partials, { count, keys: c.splitKeys, slot: c.slot });
        lseMerge(gpu, enc, c.shape, partials, c.slot + count, c.rows, out);
      });
      const got = await readOutput(gpu, out, c.shape, c.rows);
      const want = attentionRef(c.shape, query.q, c.rows, kv.k, kv.v, c.keys, causalMask(query.positions, kv.positions));
      expect(maxAbsDiff(got.o, want.o)).toBeLessThan(tolerance.o);
      expect(lseDiff(got.lse, want.lse)).toBeLessThan(tolerance.lse);
    });
  }

  it('gives the same result with another tile configuration', async () => {
    const gpu = await testGpu();
    const shapes = [attentionShape(7, 1, 80), attentionShape(7, 1, 80, otherTiles)];
    const [rows, keys] = [150, 150];
    const query = testQuery(gpu, shapes[0], rows, 0, 21, 2);
    const kv = testKv(gpu, shapes[0], keys, 0, 22, { start: 5, capacity: 160 });
    const results = [];
    for (const shape of shapes) {
      const out = attentionOutput(gpu, shape, rows);
      gpu.run((enc) => attentionPrefill(gpu, enc, shape, query.query, kv.span, out));
      results.push(await readOutput(gpu, out, shape, rows));
    }
    const want = attentionRef(shapes[0], query.q, rows, kv.k, kv.v, keys, causalMask(query.positions, kv.positions));
    for (const got of results) {
      expect(maxAbsDiff(got.o, want.o)).toBeLessThan(tolerance.o);
      expect(lseDiff(got.lse, want.lse)).toBeLessThan(tolerance.lse);
    }
    expect(maxAbsDiff(results[0].o, results[1].o)).toBeLessThan(tolerance.o);
  });
});
