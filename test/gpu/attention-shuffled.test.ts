// The shuffled flash tile (shaders/flash_tile_shuffled.wgsl) against the double-precision reference, beside
// the f32 tile it stands in for on CPU adapters with subgroups, both forced (the other attention tests
// run whichever tile the adapter gets by default); and where choosePrefillKernel takes it. lavapipe
// (Node) has subgroups of 8 and SwiftShader (Chromium) of 4, so both run the shuffled tile, with steps
// of 8 and of 4 keys.
import { describe, expect, it } from 'vitest';
import {
  attentionBlockAnchor,
  attentionPrefill,
  choosePrefillKernel,
  lseMerge,
  prefillTiles,
  shuffledTiles,
  type AttentionShape,
  type KvSpan,
  type ShuffledTiles,
} from '../../src/gpu/kernels/attention.ts';
import type { KvType } from '../../src/gpu/kernels/kv-store.ts';
import type { TensorCoreDevice } from '../../src/gpu/kernels/tensor-cores.ts';
import { attentionRef, causalMask, lseDiff, starMask, windowed, type RefOutput } from '../reference/attention.ts';
import { maxAbsDiff } from '../support/random.ts';
import { testGpu } from '../support/gpu.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { attentionOutput, attentionShape, concatKv, readOutput, testKv, testQuery, tolerance } from './attention-fixture.ts';

/** A device for the choice alone: a CPU adapter (or a GPU) with subgroups of `subgroups` lanes (0: none). */
function device(changes: { cpu?: boolean; subgroups?: [number, number]; storage?: number } = {}): TensorCoreDevice {
  const { cpu = true, subgroups = [8, 8], storage = 32768 } = changes;
  const has = subgroups[0] > 0;
  return {
    device: { features: new Set(has ? ['subgroups'] : []), limits: { maxComputeWorkgroupStorageSize: storage, maxComputeInvocationsPerWorkgroup: 1024 } } as unknown as GPUDevice,
    adapter: {
      description: 'test',
      vendor: '',
      architecture: '',
      isFallbackAdapter: false,
      runsOnCpu: cpu,
      subgroupSizes: { min: subgroups[0], max: subgroups[1] },
      features: [],
      limits: {},
      subgroupMatrixConfigs: [],
    },
    hasF16: true,
    hasSubgroups: has,
  };
}

describe('choosing the shuffled tile', () => {
  it('is the default on CPU adapters with subgroups, for head dims up to 128, with 8 keys a tile where 16 do not fit', () => {
    for (const subgroups of [[8, 8], [4, 4], [4, 16]] as [number, number][]) {
      for (const headDim of [16, 30, 64, 80, 128]) {
        expect(choosePrefillKernel(device({ subgroups }), attentionShape(4, 2, headDim))).toEqual({ kind: 'shuffled', tiles: { rows: 64, keys: 16 } });
      }
    }
    expect(choosePrefillKernel(device({ storage: 16384 }), attentionShape(4, 2, 64)).tiles).toEqual({ rows: 64, keys: 16 });
    expect(choosePrefillKernel(device({ storage: 16384 }), attentionShape(4, 2, 128)).tiles).toEqual({ rows: 64, keys: 8 });
  });

  it('leaves GPUs, CPU adapters without subgroups and what it cannot take to the f32 tile', () => {
    const plain = (gpu: TensorCoreDevice, headDim: number) => expect(choosePrefillKernel(gpu, attentionShape(4, 2, headDim))).toEqual({ kind: 'f32', tiles: prefillTiles(headDim) });
    for (const headDim of [64, 128]) {
      plain(device({ cpu: false }), headDim);
      plain(device({ cpu: false, subgroups: [32, 32] }), headDim);
      plain(device({ subgroups: [0, 0] }), headDim);
      plain(device({ subgroups: [8, 128] }), headDim); // 64 rows are not whole subgroups of 128
      plain(device({ storage: 4096 }), headDim);
    }
    plain(device(), 256);
  });

  it('is taken when asked for, and refused with the reason where it cannot run', () => {
    const shape = attentionShape(4, 2, 64);
    const tiles: ShuffledTiles = { rows: 32, keys: 12 };
    expect(choosePrefillKernel(device({ cpu: false }), { ...shape, tiles: { shuffled: tiles } })).toEqual({ kind: 'shuffled', tiles });
    expect(() => choosePrefillKernel(device({ subgroups: [0, 0] }), { ...shape, tiles: { shuffled: tiles } })).toThrow(/no subgroups/);
    expect(() => choosePrefillKernel(device({ subgroups: [4, 64] }), { ...shape, tiles: { shuffled: tiles } })).toThrow(/whole subgroups of 64/);
    expect(() => choosePrefillKernel(device(), { ...attentionShape(4, 2, 256), tiles: { shuffled: tiles } })).toThrow(/head dim 256/);
    expect(() => choosePrefillKernel(device(), { ...shape, tiles: { shuffled: tiles, prefill: prefillTiles(64) } })).toThrow(/not several/);
  });

  it("keeps this device's f32 tile when its subgroups are turned off", async () => {
    const gpu = await testGpu({ subgroups: false });
    expect(choosePrefillKernel(gpu, attentionShape(14, 2, 64)).kind).toBe('f32');
  });
});

interface Case {
  name: string;
  shape: AttentionShape;
  rows: number;
  /** Prefill: `keys` keys from position kFirst on, queries from qFirst on. */
  qFirst?: number;
  keys?: number;
  kFirst?: number;
  /** Block+anchor instead: blocks firstBlock… of blockSize, an anchor of `anchor` keys. */
  star?: { blockSize: number; anchor: number; firstBlock: number };
  /** Prefill in splits of this many keys, into partial slots 1…, merged. */
  splitKeys?: number;
  dtype?: KvType;
  magnitude?: number;
  /** The shuffled tile's sizes (default: the chosen ones). */
  shuffled?: ShuffledTiles;
}

function masked(shape: AttentionShape, window?: number, softcap?: number): AttentionShape {
  return { ...shape, window, softcap };
}

const cases: Case[] = [
  { name: 'prefill, one row, one key', shape: attentionShape(1, 1, 16), rows: 1, keys: 1 },
  { name: 'prefill, GQA 7, headDim 64, 77 rows (keys not a multiple of the step)', shape: attentionShape(14, 2, 64), rows: 77, keys: 77, magnitude: 3 },
  { name: 'prefill, MHA, headDim 128, f16 cache, 40 rows after 25 earlier keys', shape: attentionShape(2, 2, 128), rows: 40, qFirst: 25, keys: 65, dtype: 'f16' },
  { name: 'prefill, headDim 30, GQA 3, window 9, softcap 1.5, sharp', shape: masked(attentionShape(6, 2, 30), 9, 1.5), rows: 50, qFirst: 20, keys: 70, magnitude: 3 },
  { name: 'prefill, first rows see no key, headDim 16', shape: attentionShape(4, 4, 16), rows: 33, keys: 40, kFirst: 10 },
  { name: 'prefill, 32 rows and 12 keys a tile, headDim 80, GQA 4, f16 cache', shape: attentionShape(8, 2, 80), rows: 45, keys: 45, dtype: 'f16', shuffled: { rows: 32, keys: 12 } },
  { name: 'prefill in 4 splits of 24 keys (slot 0 an empty span), GQA 2, headDim 64', shape: attentionShape(4, 2, 64), rows: 30, qFirst: 80, keys: 90, splitKeys: 24 },
  { name: 'block+anchor, GQA 4, headDim 64, 3 blocks of 24, last shorter, window 30', shape: masked(attentionShape(8, 2, 64), 30), rows: 61, star: { blockSize: 24, anchor: 24, firstBlock: 1 } },
  {
    name: 'block+anchor, GQA 7, headDim 32, f16 cache, anchor 10 < block 40, blocks 2–4, softcap 2',
    shape: masked(attentionShape(7, 1, 32), undefined, 2),
    rows: 100,
    star: { blockSize: 40, anchor: 10, firstBlock: 2 },
    dtype: 'f16',
  },
];

/** Runs the case with the shape's tiles; its output and the reference's. */
async function runCase(gpu: Gpu, c: Case, shape: AttentionShape): Promise<{ got: RefOutput; want: RefOutput }> {
  const seed = c.rows * 29 + shape.headDim;
  const withMask = (mask: ReturnType<typeof causalMask>, q: number[], k: number[]) => (shape.window === undefined ? mask : windowed(mask, shape.window, q, k));
  const out = attentionOutput(gpu, shape, c.rows);
  if (c.star) {
    const { blockSize: b, anchor: a, firstBlock } = c.star;
    const first = firstBlock * b;
    const query = testQuery(gpu, shape, c.rows, first, seed, c.magnitude);
    // The document's KV from row 3 on, NaN elsewhere: only the spans may be read.
    const doc = testKv(gpu, shape, first + c.rows, 0, seed + 1, { start: 3, capacity: first + c.rows + 5, fill: NaN, dtype: c.dtype });
    const width = shape.kvHeads * shape.headDim;
    const anchor: KvSpan = { ...doc.span, length: a };
    const blocks: KvSpan = { ...doc.span, start: 3 + first, length: c.rows, firstPosition: first };
    gpu.run((enc) => attentionBlockAnchor(gpu, enc, shape, query.query, anchor, blocks, b, out));
    const keys = concatKv([
      { k: doc.k.subarray(0, a * width), v: doc.v.subarray(0, a * width), positions: doc.positions.slice(0, a) },
      { k: doc.k.subarray(first * width), v: doc.v.subarray(first * width), positions: doc.positions.slice(first) },
    ]);
    const visible = withMask(starMask(a, b, query.positions, keys.positions), query.positions, keys.positions);
    return { got: await readOutput(gpu, out, shape, c.rows), want: attentionRef(shape, query.q, c.rows, keys.k, keys.v, a + c.rows, visible) };
  }
  const keys = c.keys ?? c.rows;
  const query = testQuery(gpu, shape, c.rows, c.qFirst ?? 0, seed, c.magnitude);
  const kv = testKv(gpu, shape, keys, c.kFirst ?? 0, seed + 1, { start: 2, capacity: keys + 4, fill: NaN, dtype: c.dtype });
  if (c.splitKeys) {
    const count = Math.ceil(keys / c.splitKeys);
    const partials = attentionOutput(gpu, shape, c.rows, 1 + count);
    gpu.run((enc) => {
      attentionPrefill(gpu, enc, shape, query.query, { ...kv.span, length: 0 }, partials, { count: 1, keys: 1, slot: 0 });
      attentionPrefill(gpu, enc, shape, query.query, kv.span, partials, { count, keys: c.splitKeys ?? keys, slot: 1 });
      lseMerge(gpu, enc, shape, partials, 1 + count, c.rows, out);
    });
  } else {
    gpu.run((enc) => attentionPrefill(gpu, enc, shape, query.query, kv.span, out));
  }
  const visible = withMask(causalMask(query.positions, kv.positions), query.positions, kv.positions);
  return { got: await readOutput(gpu, out, shape, c.rows), want: attentionRef(shape, query.q, c.rows, kv.k, kv.v, keys, visible) };
}

describe('the shuffled flash tile', () => {
  for (const c of cases) {
    it(`${c.name}: the shuffled and the f32 tile match the reference`, async () => {
      const gpu = await testGpu();
      const shuffled = { ...c.shape, tiles: { shuffled: c.shuffled ?? shuffledTiles(gpu, c.shape.headDim) } };
      const plain = { ...c.shape, tiles: { prefill: prefillTiles(c.shape.headDim) } };
      const results = [await runCase(gpu, c, plain)];
      if (gpu.hasSubgroups) results.push(await runCase(gpu, c, shuffled));
      else await expect(runCase(gpu, c, shuffled)).rejects.toThrow(/no subgroups/);
      for (const { got, want } of results) {
        expect(maxAbsDiff(got.o, want.o)).toBeLessThan(tolerance.o);
        expect(lseDiff(got.lse, want.lse)).toBeLessThan(tolerance.lse);
      }
    });
  }
});
