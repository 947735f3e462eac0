import { describe, expect, it } from 'vitest';
import { rope } from '../../src/gpu/kernels/rope.ts';
import { ropeInverseFrequencies, type RopeScaling } from '../../src/model/rope-frequencies.ts';
import { ropeRef } from '../reference/rope.ts';
import { testGpu } from '../support/gpu.ts';
import { maxAbsDiff, randomArray } from '../support/random.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';

interface RopeCase {
  rows: number;
  heads: number;
  headDim: number;
  positions: Uint32Array;
  invFreq: Float32Array;
  attentionScaling: number;
  x: Float32Array;
}

/**
 * Runs the kernel on c's x as the queries and on keys with half as many heads (at least 1, random) and
 * returns [got, want], queries then keys.
 */
async function runRope(gpu: Gpu, c: RopeCase): Promise<[Float32Array, Float32Array]> {
  const keyHeads = Math.max(1, Math.floor(c.heads / 2));
  const keys = randomArray(c.rows * keyHeads * c.headDim, c.rows + c.headDim);
  const q = gpu.tensorFrom(c.x, 'f32', [c.rows, c.heads, c.headDim]);
  const k = gpu.tensorFrom(keys, 'f32', [c.rows, keyHeads, c.headDim]);
  const invFreq = gpu.tensorFrom(c.invFreq, 'f32', [c.invFreq.length]);
  gpu.run((enc) => rope(gpu, enc, q, k, gpu.upload(c.positions), invFreq, c.rows, c.heads, keyHeads, c.headDim, c.attentionScaling));
  const want = [
    ropeRef(c.x, c.positions, c.invFreq, c.rows, c.heads, c.headDim, c.attentionScaling),
    ropeRef(keys, c.positions, c.invFreq, c.rows, keyHeads, c.headDim, c.attentionScaling),
  ];
  const got = [await gpu.readF32(q), await gpu.readF32(k)];
  return [Float32Array.from([...got[0], ...got[1]]), Float32Array.from([...want[0], ...want[1]])];
}

/** Star Attention's layout: anchor positions 0..b-1, then the block's own positions i·b… */
function anchoredPositions(b: number, block: number): Uint32Array {
  return Uint32Array.from({ length: 2 * b }, (_, r) => (r < b ? r : block * b + r - b));
}

const llama3: RopeScaling = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };

describe('rope (rotate_half) of queries and keys, in place', () => {
  const shapes: Array<[rows: number, heads: number, headDim: number]> = [
    [1, 1, 16],
    [3, 8, 32],
    [5, 4, 64],
    [2, 2, 80],
    [7, 8, 128],
  ];
  for (const [rows, heads, headDim] of shapes) {
    it(`rows=${rows} heads=${heads} headDim=${headDim}, theta 10000`, async () => {
      const gpu = await testGpu();
      const { invFreq, attentionScaling } = ropeInverseFrequencies(headDim, 10000);
      const positions = Uint32Array.from({ length: rows }, (_, r) => 3 + r * 37);
      const x = randomArray(rows * heads * headDim, rows + heads * 10 + headDim);
      const [got, want] = await runRope(gpu, { rows, heads, headDim, positions, invFreq, attentionScaling, x });
      expect(maxAbsDiff(got, want)).toBeLessThan(2e-6);
    });
  }

  it('non-contiguous positions (anchor 0..b-1 then block 5 at 5b…), llama3 frequencies', async () => {
    const gpu = await testGpu();
    const [b, heads, headDim] = [64, 4, 64];
    const positions = anchoredPositions(b, 5);
    const { invFreq, attentionScaling } = ropeInverseFrequencies(headDim, 500000, llama3);
    const x = randomArray(2 * b * heads * headDim, 41);
    const [got, want] = await runRope(gpu, { rows: 2 * b, heads, headDim, positions, invFreq, attentionScaling, x });
    expect(maxAbsDiff(got, want)).toBeLessThan(2e-6);
  });

  it('yarn attention scaling multiplies cos and sin', async () => {
    const gpu = await testGpu();
    const yarn: RopeScaling = { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 32768 };
    const { invFreq, attentionScaling } = ropeInverseFrequencies(64, 1e6, yarn);
    expect(attentionScaling).toBeGreaterThan(1.1);
    const positions = Uint32Array.from([0, 1, 4095, 100_000]);
    const x = randomArray(4 * 2 * 64, 42);
    const [got, want] = await runRope(gpu, { rows: 4, heads: 2, headDim: 64, positions, invFreq, attentionScaling, x });
    expect(maxAbsDiff(got, want)).toBeLessThan(3e-6);
  });

  it('partial rotary: dimensions past the rotary size pass through', async () => {
    const gpu = await testGpu();
    const [rows, heads, headDim] = [3, 2, 64];
    const { invFreq } = ropeInverseFrequencies(headDim, 10000, undefined, 0.5); // 16 frequencies: dims 0..31 rotate
    const positions = Uint32Array.from([1, 20, 300]);
    const x = randomArray(rows * heads * headDim, 43);
    const [got, want] = await runRope(gpu, { rows, heads, headDim, positions, invFreq, attentionScaling: 1, x });
    expect(maxAbsDiff(got, want)).toBeLessThan(2e-6);
    for (let v = 0; v < rows * heads; v++) {
      const tail = (a: Float32Array) => a.subarray(v * headDim + 32, (v + 1) * headDim);
      expect(tail(got)).toEqual(tail(x));
    }
  });
});

describe('rope: cos and sin of large angles', () => {
  // x = (1, 0) in every pair makes the kernel output (cos, sin) of each angle itself. theta 10000 gives
  // invFreq[0] = 1, so angles reach the position: long documents mean angles of 1e5 radians and more.
  it('≤ 2e-6 from cos/sin of the f32 angle for positions up to 262143', async () => {
    const gpu = await testGpu();
    const headDim = 128;
    const half = headDim / 2;
    const { invFreq } = ropeInverseFrequencies(headDim, 10000);
    const rows = 4096;
    // 0..99, then a sweep up to 131071 (Llama 3.1's 128k context), then beyond.
    const positions = Uint32Array.from({ length: rows }, (_, r) =>
      r < 100 ? r : r < 3600 ? Math.round(((r - 100) / 3499) * 131071) : 131072 + Math.round(((r - 3600) / 495) * 131071),
    );
    const x = new Float32Array(rows * headDim);
    for (let r = 0; r < rows; r++) x.fill(1, r * headDim, r * headDim + half);
    const [got, want] = await runRope(gpu, { rows, heads: 1, headDim, positions, invFreq, attentionScaling: 1, x });
    expect(positions[rows - 1]).toBe(262_143);
    expect(maxAbsDiff(got, want)).toBeLessThan(2e-6);
  });
});
