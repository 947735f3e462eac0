// Checks of the tensor-core flash tile (shaders/flash_tile_tensor_cores.wgsl) against the
// double-precision reference, for bench/attention-tensor-cores.ts (no vitest there): with real tensor
// cores on a GPU that has them, or with the fragments emulated in plain WGSL on any adapter (--emulated).
//
// Inputs lie on a grid that f16 holds exactly (multiples of 2^-10 in [-1, 1], a power-of-two scale), so
// the kernel's rounding of Q·scale, K and V to f16 changes nothing and the reference needs no model of it.
// What remains is the rounding of the probabilities P to f16 before P·V: each p moves by at most 2^-10
// of itself (2^-11 when rounded to nearest; WGSL allows either neighbour), so O moves by at most
// 2^-10 · max|v|. The scores, the softmax and the LSE are f32 as in the f32 kernel, whose tolerance the
// LSE keeps (times 2.5: the scores are summed in another order).
import type { Gpu } from '../../src/gpu/gpu.ts';
import { attentionBlockAnchor, attentionPrefill, type AttentionShape, type TensorCoreTiles } from '../../src/gpu/kernels/attention.ts';
import { attentionRef, causalMask, lseDiff, starMask, windowed } from '../reference/attention.ts';
import { maxAbsDiff, randomArray } from '../support/random.ts';
import { attentionOutput, kvFrom, readOutput, tolerance } from './attention-fixture.ts';

export interface TensorCoreCase {
  name: string;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Query rows; prefill: over as many keys, from position `first` on. */
  rows: number;
  first?: number;
  window?: number;
  softcap?: number;
  /** Star Attention phase 1 instead of prefill: blocks firstBlock… of blockSize, anchor keys. */
  star?: { blockSize: number; anchor: number; firstBlock: number };
  /** Queries times this (a power of two): sharper softmax, more rescaling. */
  magnitude?: number;
  /** Among the few the emulated check runs (bench/attention-tensor-cores.ts --emulated): cheap to compile on lavapipe. */
  emulated?: boolean;
}

export interface CaseResult {
  o: number;
  lse: number;
  toleranceO: number;
  toleranceLse: number;
  /** Where O is off by more than its tolerance, for a failing device run: which rows, and the worst element. */
  wrongO: string;
}

const pRounding = 2 ** -10;
export const lseTolerance = 2.5 * tolerance.lse;

/** Values on the f16-exact grid: multiples of 2^-10 in [-1, 1], times `magnitude` (a power of two). */
export function gridArray(n: number, seed: number, magnitude = 1): Float32Array {
  return randomArray(n, seed).map((x) => (Math.round(x * 1024) / 1024) * magnitude);
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

/** The query rows (positions) whose O is off by more than `tolerance` (NaN counts), and the worst element. */
function wrongRows(got: Float32Array, want: Float32Array, c: TensorCoreCase, firstPosition: number, tolerance: number): string {
  const perRow = c.heads * c.headDim;
  const rows: number[] = [];
  let worst = { d: 0, i: 0 };
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    const bad = !(d <= tolerance);
    if (bad && rows[rows.length - 1] !== Math.floor(i / perRow)) rows.push(Math.floor(i / perRow));
    if (bad && !(d <= worst.d)) worst = { d: Number.isNaN(d) ? Infinity : d, i };
  }
  if (rows.length === 0) return '';
  const t = Math.floor(worst.i / perRow);
  const h = Math.floor((worst.i % perRow) / c.headDim);
  const shown = rows.length > 8 ? `${rows.slice(0, 8).join(', ')}…` : rows.join(', ');
  return `${rows.length} of ${c.rows} rows (positions ${firstPosition}+: ${shown}); worst at row ${t}, head ${h}, dim ${worst.i % c.headDim}: ${got[worst.i]} for ${want[worst.i]}`;
}

/** Runs the case with the given tensor-core tiles; differences from the reference and what they may be. */
export async function checkTensorCoreCase(gpu: Gpu, c: TensorCoreCase, tiles: TensorCoreTiles): Promise<CaseResult> {
  const shape: AttentionShape = {
    heads: c.heads,
    kvHeads: c.kvHeads,
    headDim: c.headDim,
    // A power of two near 1/√headDim: Q·scale stays on the grid.
    scale: 2 ** -Math.round(Math.log2(Math.sqrt(c.headDim))),
    window: c.window,
    softcap: c.softcap,
    tiles: { tensorCores: tiles },
  };
  const width = c.kvHeads * c.headDim;
  const seed = c.rows * 31 + c.heads * 7 + c.headDim;
  const q = gridArray(c.rows * c.heads * c.headDim, seed, c.magnitude ?? 1);
  const query = { q: gpu.upload(q), rows: c.rows, firstPosition: c.star ? c.star.firstBlock * c.star.blockSize : (c.first ?? 0) };
  const qPositions = Array.from({ length: c.rows }, (_, t) => query.firstPosition + t);
  const out = attentionOutput(gpu, shape, c.rows);
  let want;
  if (c.star) {
    const { blockSize: b, anchor: a } = c.star;
    const first = query.firstPosition;
    // The whole document's KV in one chunk from row 3 on, NaN elsewhere: only the spans may be read.
    const k = gridArray((first + c.rows) * width, seed + 1);
    const v = gridArray((first + c.rows) * width, seed + 2);
    const doc = kvFrom(gpu, shape, k, v, 0, { start: 3, capacity: first + c.rows + 5, fill: NaN });
    const anchor = { ...doc.span, length: a };
    const blocks = { ...doc.span, start: 3 + first, length: c.rows, firstPosition: first };
    gpu.run((enc) => attentionBlockAnchor(gpu, enc, shape, query, anchor, blocks, b, out));
    const keys = { k: new Float32Array([...k.subarray(0, a * width), ...k.subarray(first * width)]), v: new Float32Array([...v.subarray(0, a * width), ...v.subarray(first * width)]) };
    const kPositions = [...doc.positions.slice(0, a), ...doc.positions.slice(first)];
    const star = starMask(a, b, qPositions, kPositions);
    const visible = c.window === undefined ? star : windowed(star, c.window, qPositions, kPositions);
    want = { ...attentionRef(shape, q, c.rows, keys.k, keys.v, a + c.rows, visible), maxV: maxAbs(keys.v) };
  } else {
    const length = query.firstPosition + c.rows;
    const k = gridArray(length * width, seed + 1);
    const v = gridArray(length * width, seed + 2);
    const kv = kvFrom(gpu, shape, k, v, 0, { start: 2, capacity: length + 4, fill: NaN });
    gpu.run((enc) => attentionPrefill(gpu, enc, shape, query, kv.span, out));
    const causal = causalMask(qPositions, kv.positions);
    const visible = c.window === undefined ? causal : windowed(causal, c.window, qPositions, kv.positions);
    want = { ...attentionRef(shape, q, c.rows, k, v, length, visible), maxV: maxAbs(v) };
  }
  const got = await readOutput(gpu, out, shape, c.rows);
  const toleranceO = pRounding * want.maxV + tolerance.o;
  return {
    o: maxAbsDiff(got.o, want.o),
    lse: lseDiff(got.lse, want.lse),
    toleranceO,
    toleranceLse: lseTolerance,
    wrongO: wrongRows(got.o, want.o, c, query.firstPosition, toleranceO),
  };
}

/** Random and edge shapes: rows not a multiple of any tile, GQA groups 1, 2, 4 and 7, head dims 64 and
 *  128 (32 too), windows, soft-capping, sharp softmaxes, several Star Attention blocks with anchors. */
export const tensorCoreCases: TensorCoreCase[] = [
  { name: 'prefill, GQA 2, headDim 64, 37 rows', heads: 4, kvHeads: 2, headDim: 64, rows: 37, emulated: true },
  { name: 'prefill, GQA 1, headDim 128, 50 rows after 20 earlier keys', heads: 2, kvHeads: 2, headDim: 128, rows: 50, first: 20 },
  { name: 'prefill, GQA 7, headDim 64, window 9, sharp', heads: 7, kvHeads: 1, headDim: 64, rows: 29, window: 9, magnitude: 4 },
  { name: 'prefill, GQA 4, headDim 32, softcap 1.5', heads: 8, kvHeads: 2, headDim: 32, rows: 45, softcap: 1.5 },
  { name: 'block+anchor, GQA 4, headDim 64, 3 blocks of 24, last shorter', heads: 8, kvHeads: 2, headDim: 64, rows: 61, star: { blockSize: 24, anchor: 24, firstBlock: 1 } },
  { name: 'block+anchor, GQA 7, headDim 128, anchor 10 < block 40, blocks 2–4, window 30', heads: 7, kvHeads: 1, headDim: 128, rows: 100, window: 30, star: { blockSize: 40, anchor: 10, firstBlock: 2 } },
  { name: 'block+anchor, GQA 4, headDim 32, 2 blocks of 20, window 25, softcap 2', heads: 4, kvHeads: 1, headDim: 32, rows: 40, window: 25, softcap: 2, star: { blockSize: 20, anchor: 20, firstBlock: 1 }, emulated: true },
];
