import { describe, expect, it } from 'vitest';
import {
  attentionCitations,
  attentionDecode,
  decodeScratchBytes,
  gridCell,
  type AttentionShape,
  type CitationGrid,
  type DecodeSplits,
} from '../../src/gpu/kernels/attention.ts';
import { attentionRef, causalMask, lseDiff, windowed } from '../reference/attention.ts';
import { attentionSharesRef, meanOverHeads } from '../reference/citations.ts';
import { maxAbsDiff } from '../support/random.ts';
import { testGpu } from '../support/gpu.ts';
import { attentionOutput, attentionShape, concatKv, otherTiles, readOutput, testKv, testQuery, tolerance } from './attention-fixture.ts';

interface CitationCase {
  name: string;
  shape: AttentionShape;
  rows: number;
  /** Consecutive spans of the cache, each in its own chunk buffer: [first position, length]. */
  spans: [number, number][];
  grid: CitationGrid;
  /** Accumulator row of query row 0 and the accumulator's rows (rows past it are dropped). */
  firstRow?: number;
  tableRows?: number;
}

const cases: CitationCase[] = [
  { name: '1 row, one span, a prefix cell before the origin, GQA 4', shape: attentionShape(8, 2, 32), rows: 1, spans: [[0, 300]], grid: { keys: 64, origin: 37 } },
  {
    name: '4 rows, three chunks not aligned to the grid, MHA',
    shape: attentionShape(4, 4, 32),
    rows: 4,
    spans: [[0, 100], [100, 37], [137, 513]],
    grid: { keys: 256, origin: 0 },
  },
  {
    name: 'a windowed layer: the span starts where the window does, mid-cell',
    shape: { ...attentionShape(4, 2, 32), window: 150 },
    rows: 2,
    spans: [[449, 151]],
    grid: { keys: 64, origin: 5 },
  },
  { name: 'an empty chunk first, then one', shape: attentionShape(4, 2, 32), rows: 1, spans: [[0, 0], [0, 70]], grid: { keys: 32, origin: 0 } },
  {
    name: 'splits smaller than a cell (4 to a cell), chunks and origin off the split grid',
    shape: attentionShape(8, 2, 32, { splitKeys: 16 }),
    rows: 1,
    spans: [[0, 90], [90, 300]],
    grid: { keys: 64, origin: 21 },
  },
  {
    name: 'a natural split of 48 keys: 32-key splits, 2 to a cell',
    shape: attentionShape(4, 1, 32, { splitKeys: 48 }),
    rows: 2,
    spans: [[0, 200]],
    grid: { keys: 64, origin: 7 },
  },
  {
    name: 'other tiles; rows past the table dropped',
    shape: attentionShape(8, 2, 64, otherTiles),
    rows: 3,
    spans: [[0, 120], [120, 200]],
    grid: { keys: 40, origin: 13 },
    firstRow: 1,
    tableRows: 3,
  },
];

describe('attentionCitations (per-cell attention shares from split-KV decoding)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const gpu = await testGpu();
      const { shape, rows, grid } = c;
      const end = c.spans[c.spans.length - 1][0] + c.spans[c.spans.length - 1][1];
      const query = testQuery(gpu, shape, rows, end - rows, 17 + rows, 3);
      const kvs = c.spans.map(([first, length], i) => testKv(gpu, shape, length, first, 50 * i + 3, { start: i, capacity: i + length + 1, fill: NaN }));
      const spans = kvs.map((kv) => kv.span);
      const scratch = gpu.buffer(decodeScratchBytes(gpu, shape, rows, spans, grid));
      const out = attentionOutput(gpu, shape, rows);
      const keys = concatKv(kvs);
      const cells = gridCell(grid, end - 1) + 2; // one cell more than any key's: stays 0
      const firstRow = c.firstRow ?? 0;
      const tableRows = c.tableRows ?? rows;
      const table = gpu.upload(new Float32Array(tableRows * cells));
      let splits: DecodeSplits | undefined;
      gpu.run((enc) => {
        splits = attentionDecode(gpu, enc, shape, query.query, spans, scratch, out, grid);
        // Two layers of weight ½ each: the table accumulates.
        for (let layer = 0; layer < 2; layer++) {
          const firstPosition = end - rows - firstRow; // query row 0 goes to table row firstRow
          attentionCitations(gpu, enc, shape, splits, out.lse, query.query, { shares: table, firstPosition, rows: tableRows, cells, weight: 0.5 / shape.heads });
        }
      });

      // The attention itself is what it is without a grid.
      const mask = causalMask(query.positions, keys.positions);
      const visible = shape.window ? windowed(mask, shape.window, query.positions, keys.positions) : mask;
      const want = attentionRef(shape, query.q, rows, keys.k, keys.v, keys.positions.length, visible);
      const got = await readOutput(gpu, out, shape, rows);
      expect(maxAbsDiff(got.o, want.o)).toBeLessThan(tolerance.o);
      expect(lseDiff(got.lse, want.lse)).toBeLessThan(tolerance.lse);

      // Shares per cell, averaged over heads, against the reference's softmax weights.
      const cellOf = (s: number) => gridCell(grid, keys.positions[s]);
      const perHead = attentionSharesRef(shape, query.q, rows, keys.k, keys.positions.length, visible, cellOf, cells);
      const mean = meanOverHeads(perHead, rows, shape.heads, cells);
      const shares = new Float32Array(await gpu.read(table, tableRows * cells * 4));
      const expected = new Float64Array(tableRows * cells);
      for (let r = 0; r < rows; r++) {
        if (firstRow + r < tableRows) expected.set(mean.subarray(r * cells, (r + 1) * cells), (firstRow + r) * cells);
      }
      expect(maxAbsDiff(shares, expected)).toBeLessThan(1e-5);

      // Before the mean: each (row, head)'s shares over the splits sum to 1.
      const slots = splits!.spans.reduce((n, s) => n + s.slots, 0);
      const pairs = rows * shape.heads;
      const partial = new Float32Array(await gpu.read(scratch, slots * pairs * 4, splits!.lse.offset));
      for (let pair = 0; pair < pairs; pair++) {
        let sum = 0;
        for (let slot = 0; slot < slots; slot++) {
          const s = partial[slot * pairs + pair];
          if (s > -1e38) sum += Math.exp(s - got.lse[pair]);
        }
        expect(sum).toBeCloseTo(1, 5);
      }
    });
  }

  it('a row that sees no key adds nothing', async () => {
    const gpu = await testGpu();
    const shape = attentionShape(4, 2, 32);
    const grid = { keys: 32, origin: 0 };
    // The query at position 0 cannot see keys at positions 10….
    const query = testQuery(gpu, shape, 1, 0, 5);
    const kv = testKv(gpu, shape, 40, 10, 6);
    const out = attentionOutput(gpu, shape, 1);
    const table = gpu.upload(new Float32Array(4));
    gpu.run((enc) => {
      const splits = attentionDecode(gpu, enc, shape, query.query, [kv.span], gpu.buffer(decodeScratchBytes(gpu, shape, 1, [kv.span], grid)), out, grid);
      attentionCitations(gpu, enc, shape, splits, out.lse, query.query, { shares: table, firstPosition: 0, rows: 1, cells: 4, weight: 1 / shape.heads });
    });
    expect([...new Float32Array(await gpu.read(table, 16))]).toEqual([0, 0, 0, 0]);
  });
});
