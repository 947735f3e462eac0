import { describe, expect, it } from 'vitest';
import { attentionDecode, decodeChoice, decodeScratchBytes, subgroupLayout, type AttentionShape } from '../../src/gpu/kernels/attention.ts';
import type { KvType } from '../../src/gpu/kernels/kv-store.ts';
import { attentionRef, causalMask, lseDiff, windowed } from '../reference/attention.ts';
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
  // A split of several steps of 64 keys, as decode takes past 32K keys: each step's scores start from 0.
  { name: 'splits of 150 keys: three steps each', shape: attentionShape(8, 2, 64, { splitKeys: 150 }), rows: 1, spans: [300], kvType: 'f16' },
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
      const scratch = gpu.buffer(decodeScratchBytes(gpu, shape, rows, spans));
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
    gpu.run((enc) => attentionDecode(gpu, enc, shape, query.query, [empty], gpu.buffer(decodeScratchBytes(gpu, shape, 1, [empty])), out));
    const got = await readOutput(gpu, out, shape, 1);
    expect(got.o.every((x) => x === 0)).toBe(true);
    expect(got.lse.every((x) => x <= -1e38)).toBe(true);

    const long = testKv(gpu, shape, 600, 0, 5).span;
    const small = gpu.buffer(decodeScratchBytes(gpu, shape, 1, [empty]));
    expect(() => gpu.run((enc) => attentionDecode(gpu, enc, shape, query.query, [long], small, out))).toThrow(/scratch/);
  });
});

interface SubgroupCase extends DecodeCase {
  /** Query rows a tile (default: the kernel's choice) and keys a key group loads at once. */
  tileRows?: number;
  unroll?: number;
  splitKeys?: number;
}

// The subgroup kernel, which GPUs take by default (CI's CPU adapters take the workgroup-memory one), in
// the layout decode would give it on this adapter's subgroups.
const subgroupCases: SubgroupCase[] = [
  { name: 'Qwen2.5-0.5B: GQA 7, headDim 64, f16 cache, 1 row, one span', shape: attentionShape(14, 2, 64), rows: 1, spans: [300], kvType: 'f16' },
  { name: 'Llama-3.2-1B: GQA 4, f16 cache, 1 row, three spans, 2 keys in flight', shape: attentionShape(8, 2, 64), rows: 1, spans: [100, 37, 513], kvType: 'f16', unroll: 2 },
  {
    name: 'headDim 128, f16, 4 rows in tiles of 2, splits of 40, window 50 across a span boundary, softcap 3',
    shape: { ...attentionShape(8, 2, 128), window: 50, softcap: 3 },
    rows: 4,
    spans: [300, 37],
    kvType: 'f16',
    tileRows: 2,
    splitKeys: 40,
  },
  { name: 'f32 cache, headDim 32, an empty span first, 9 partials of 8 keys (fewer than a batch)', shape: attentionShape(4, 2, 32), rows: 1, spans: [0, 70], splitKeys: 8 },
  { name: 'f32 cache, a GQA group of 16 rows in two tiles', shape: attentionShape(16, 1, 32), rows: 1, spans: [150] },
];

describe('attentionDecode on subgroups', () => {
  for (const c of subgroupCases) {
    it(c.name, async () => {
      const gpu = await testGpu();
      const { rows } = c;
      const kvType = c.kvType ?? 'f32';
      const layout = subgroupLayout(gpu, c.shape.headDim, kvType);
      const chosen = decodeChoice({ hasSubgroups: gpu.hasSubgroups, adapter: { ...gpu.adapter, runsOnCpu: false } }, c.shape, rows, 1000, kvType);
      const decode = { rows: c.tileRows ?? chosen.tileRows, subgroups: { keyLanes: 4, unroll: 4, threads: 64, ...layout, ...(c.unroll ? { unroll: c.unroll } : {}) } };
      const shape: AttentionShape = { ...c.shape, tiles: { decode, ...(c.splitKeys ? { splitKeys: c.splitKeys } : {}) } };
      const total = c.spans.reduce((a, b) => a + b, 0);
      const query = testQuery(gpu, shape, rows, total - rows, total + rows, 3);
      let position = 0;
      const kvs = c.spans.map((length, i) => {
        const kv = testKv(gpu, shape, length, position, 100 * i + 7, { start: 2 * i, capacity: 2 * i + length + 1, fill: NaN, dtype: kvType });
        position += length;
        return kv;
      });
      const spans = kvs.map((kv) => kv.span);
      const out = attentionOutput(gpu, shape, rows);
      const run = () => gpu.run((enc) => attentionDecode(gpu, enc, shape, query.query, spans, gpu.buffer(decodeScratchBytes(gpu, shape, rows, spans)), out));
      if (!layout) {
        // An adapter without subgroups, or with too small ones for this row, refuses the kernel by name.
        expect(run).toThrow(/Decode on subgroups .* cannot run here/);
        return;
      }
      expect(chosen.subgroups).toEqual(layout);
      run();
      const got = await readOutput(gpu, out, shape, rows);
      const keys = concatKv(kvs);
      const causal = causalMask(query.positions, keys.positions);
      const visible = shape.window ? windowed(causal, shape.window, query.positions, keys.positions) : causal;
      const want = attentionRef(shape, query.q, rows, keys.k, keys.v, total, visible);
      expect(maxAbsDiff(got.o, want.o)).toBeLessThan(tolerance.o);
      expect(lseDiff(got.lse, want.lse)).toBeLessThan(tolerance.lse);
    });
  }
});
