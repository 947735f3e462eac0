import { describe, expect, it } from 'vitest';
import { attentionBlockAnchor, attentionPrefill, type AttentionShape, type KvSpan } from '../../src/gpu/kernels/attention.ts';
import type { KvType } from '../../src/gpu/kernels/kv-store.ts';
import { attentionRef, lseDiff, starMask } from '../reference/attention.ts';
import { maxAbsDiff } from '../support/random.ts';
import { testGpu } from '../support/gpu.ts';
import {
  attentionOutput,
  attentionShape,
  concatKv,
  kvFrom,
  otherTiles,
  readOutput,
  testKv,
  testQuery,
  tolerance,
} from './attention-fixture.ts';

interface StarCase {
  name: string;
  shape: AttentionShape;
  blockSize: number;
  anchor: number;
  /** Index of the batch's first block (≥ 1) and the batch's query rows (the last block may be shorter). */
  firstBlock: number;
  rows: number;
  /** Anchor in its own buffer (another host's copy of block 0) instead of the same chunk as the blocks. */
  separateAnchor?: boolean;
  kvType?: KvType;
}

const cases: StarCase[] = [
  { name: 'one block, a = b, anchor and block in one chunk', shape: attentionShape(4, 2, 64), blockSize: 48, anchor: 48, firstBlock: 1, rows: 48 },
  { name: 'batch of three blocks, last shorter, GQA 4', shape: attentionShape(8, 2, 64), blockSize: 48, anchor: 48, firstBlock: 1, rows: 116 },
  {
    name: 'a < b, blocks 2–4 of the document, GQA 7, headDim 80, separate anchor buffer',
    shape: attentionShape(7, 1, 80),
    blockSize: 64,
    anchor: 24,
    firstBlock: 2,
    rows: 158,
    separateAnchor: true,
  },
  {
    name: 'other tile configuration, headDim 128',
    shape: attentionShape(4, 4, 128, otherTiles),
    blockSize: 40,
    anchor: 40,
    firstBlock: 3,
    rows: 100,
  },
  {
    name: 'f16 cache: a < b, batch of two blocks, separate anchor buffer, GQA 4',
    shape: attentionShape(8, 2, 64),
    blockSize: 48,
    anchor: 16,
    firstBlock: 1,
    rows: 90,
    separateAnchor: true,
    kvType: 'f16',
  },
];

describe('attentionBlockAnchor (Star Attention phase 1)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const gpu = await testGpu();
      const { shape, blockSize: b, anchor: a, rows } = c;
      const first = c.firstBlock * b;
      const seed = rows * 17 + b;
      const query = testQuery(gpu, shape, rows, first, seed, 3);
      // The document's KV in one chunk, at rows 5…, NaN everywhere else: only spans may be read.
      const row0 = 5;
      const doc = testKv(gpu, shape, first + rows, 0, seed + 1, { start: row0, capacity: row0 + first + rows + 7, fill: NaN, dtype: c.kvType });
      const width = shape.kvHeads * shape.headDim;
      const anchorKv = { k: doc.k.subarray(0, a * width), v: doc.v.subarray(0, a * width), positions: doc.positions.slice(0, a) };
      const blocksKv = { k: doc.k.subarray(first * width), v: doc.v.subarray(first * width), positions: doc.positions.slice(first) };
      const anchor: KvSpan = c.separateAnchor
        ? kvFrom(gpu, shape, anchorKv.k, anchorKv.v, 0, { start: 1, capacity: a + 3, fill: NaN, dtype: c.kvType }).span
        : { ...doc.span, length: a, firstPosition: 0 };
      const blocks: KvSpan = { ...doc.span, start: row0 + first, length: rows, firstPosition: first };

      const out = attentionOutput(gpu, shape, rows);
      gpu.run((enc) => attentionBlockAnchor(gpu, enc, shape, query.query, anchor, blocks, b, out));
      const got = await readOutput(gpu, out, shape, rows);
      const keys = concatKv([anchorKv, blocksKv]);
      const want = attentionRef(shape, query.q, rows, keys.k, keys.v, a + rows, starMask(a, b, query.positions, keys.positions));
      expect(maxAbsDiff(got.o, want.o)).toBeLessThan(tolerance.o);
      expect(lseDiff(got.lse, want.lse)).toBeLessThan(tolerance.lse);
    });
  }

  it('equals prefill over the concatenated [anchor ; block] sequence (block 1, a = b)', async () => {
    const gpu = await testGpu();
    const shape = attentionShape(6, 3, 32);
    const b = 70;
    const query = testQuery(gpu, shape, b, b, 31, 3);
    const doc = testKv(gpu, shape, 2 * b, 0, 32, { start: 2, capacity: 2 * b + 2 });
    const anchor = { ...doc.span, length: b };
    const block = { ...doc.span, start: doc.span.start + b, length: b, firstPosition: b };
    const star = attentionOutput(gpu, shape, b);
    const full = attentionOutput(gpu, shape, b);
    gpu.run((enc) => {
      attentionBlockAnchor(gpu, enc, shape, query.query, anchor, block, b, star);
      attentionPrefill(gpu, enc, shape, query.query, doc.span, full);
    });
    const got = await readOutput(gpu, star, shape, b);
    const want = await readOutput(gpu, full, shape, b);
    expect(maxAbsDiff(got.o, want.o)).toBeLessThan(tolerance.o);
    expect(lseDiff(got.lse, want.lse)).toBeLessThan(tolerance.lse);
  });
});
