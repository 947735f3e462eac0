import { describe, expect, it } from 'vitest';
import { headRmsNorm, qkHeadRmsNorm, rmsNorm } from '../../src/gpu/kernels/norms.ts';
import { f16BitsToF32, f32ToF16Bits } from '../../src/model/dtype.ts';
import { headRmsNormRef, rmsNormRef } from '../reference/norms.ts';
import { inBrowser, subgroupPaths, testGpu } from '../support/gpu.ts';
import { maxAbsDiff, randomArray } from '../support/random.ts';

const eps = 1e-5;

// Both paths of the reduction (subgroups, workgroup memory) on every case.
for (const path of subgroupPaths) {
  describe(`rmsNorm (y = x / rms(x) · weight), f32 weights [${path.name}]`, () => {
    it(`runs on the ${path.name} path`, async () => {
      expect((await testGpu(path)).hasSubgroups).toBe(path.subgroups);
    });

    // dims below, at and above the workgroup of 256, and not multiples of it
    const shapes: Array<[rows: number, dim: number]> = [
      [1, 1],
      [1, 64],
      [4, 13],
      [3, 300],
      [5, 1000],
      [2, 4096],
      [17, 2560],
    ];
    for (const [rows, dim] of shapes) {
      it(`rows=${rows} dim=${dim}`, async () => {
        const gpu = await testGpu(path);
        const x = randomArray(rows * dim, rows * 131 + dim, 3);
        const w = randomArray(dim, dim + 7);
        const y = gpu.tensor('f32', [rows, dim]);
        gpu.run((enc) => rmsNorm(gpu, enc, gpu.tensorFrom(x, 'f32', [rows, dim]), gpu.tensorFrom(w, 'f32', [dim]), y, rows, eps));
        expect(maxAbsDiff(await gpu.readF32(y), rmsNormRef(x, w, rows, eps))).toBeLessThan(1e-5);
      });
    }

    it('eps matters for a near-zero row, and rows past `rows` are left alone', async () => {
      const gpu = await testGpu(path);
      const [rows, dim] = [2, 40];
      const x = randomArray(rows * dim, 3, 1e-4);
      const w = randomArray(dim, 4);
      const y = gpu.tensorFrom(new Float32Array((rows + 1) * dim).fill(7), 'f32', [rows + 1, dim]);
      gpu.run((enc) => rmsNorm(gpu, enc, gpu.tensorFrom(x, 'f32', [rows, dim]), gpu.tensorFrom(w, 'f32', [dim]), y, rows, 1e-2));
      const got = await gpu.readF32(y);
      expect(maxAbsDiff(got.subarray(0, rows * dim), rmsNormRef(x, w, rows, 1e-2))).toBeLessThan(1e-7);
      expect(got.subarray(rows * dim).every((v) => v === 7)).toBe(true);
    });
  });

  describe(`headRmsNorm (Qwen3 q_norm / k_norm), in place per head [${path.name}]`, () => {
    const shapes: Array<[rows: number, heads: number, headDim: number]> = [
      [1, 1, 16],
      [2, 3, 20],
      [3, 8, 32],
      [2, 4, 64],
      [5, 2, 80],
      [4, 8, 128],
      [1, 3, 256],
    ];
    for (const [rows, heads, headDim] of shapes) {
      it(`rows=${rows} heads=${heads} headDim=${headDim}`, async () => {
        const gpu = await testGpu(path);
        const x = randomArray(rows * heads * headDim, rows * 7 + heads * 13 + headDim, 4);
        const w = randomArray(headDim, headDim);
        const t = gpu.tensorFrom(x, 'f32', [rows, heads, headDim]);
        gpu.run((enc) => headRmsNorm(gpu, enc, t, gpu.tensorFrom(w, 'f32', [headDim]), rows, heads, 1e-6));
        expect(maxAbsDiff(await gpu.readF32(t), headRmsNormRef(x, w, rows, heads, 1e-6))).toBeLessThan(1e-5);
      });
    }

    it('more head vectors than one grid dimension holds (workgroups folded into y)', async () => {
      const gpu = await testGpu(path);
      const [rows, heads, headDim] = [8200, 8, 16];
      const x = randomArray(rows * heads * headDim, 5);
      const w = randomArray(headDim, 6);
      const t = gpu.tensorFrom(x, 'f32', [rows, heads, headDim]);
      gpu.run((enc) => headRmsNorm(gpu, enc, t, gpu.tensorFrom(w, 'f32', [headDim]), rows, heads, eps));
      expect(maxAbsDiff(await gpu.readF32(t), headRmsNormRef(x, w, rows, heads, eps))).toBeLessThan(1e-5);
    });
  });

  describe(`qkHeadRmsNorm (q_norm and k_norm over a fused q, k, v projection's rows) [${path.name}]`, () => {
    // [rows, query heads, key heads, headDim, weight offset]: head lengths under, at and over the 64 invocations.
    const cases: Array<[number, number, number, number, 0 | 1]> = [
      [1, 4, 1, 16, 0],
      [3, 3, 2, 10, 1],
      [9, 2, 1, 128, 0],
    ];
    for (const [rows, heads, kvHeads, headDim, offset] of cases) {
      it(`rows=${rows} heads=${heads}+${kvHeads} headDim=${headDim} offset ${offset}: headRmsNorm's bits on q and k, v untouched`, async () => {
        const gpu = await testGpu(path);
        const [qWidth, kvWidth] = [heads * headDim, kvHeads * headDim];
        const stride = qWidth + 2 * kvWidth;
        const qkv = randomArray(rows * stride, rows * 7 + headDim, 3);
        const [wq, wk] = [randomArray(headDim, headDim + 1), randomArray(headDim, headDim + 2)];
        const fused = gpu.tensorFrom(qkv, 'f32', [rows, stride]);
        const weights = { q: gpu.tensorFrom(wq, 'f32', [headDim]), k: gpu.tensorFrom(wk, 'f32', [headDim]) };
        gpu.run((enc) => qkHeadRmsNorm(gpu, enc, fused, weights, rows, { q: heads, kv: kvHeads }, 1e-6, { weightOffset: offset }));
        const got = (await gpu.readF32(fused)).subarray(0, rows * stride);
        const columns = (x: Float32Array, first: number, width: number) =>
          Float32Array.from({ length: rows * width }, (_, i) => x[Math.floor(i / width) * stride + first + (i % width)]);
        // headRmsNorm on q and k apart: the same bits.
        const [q, k] = [gpu.tensorFrom(columns(qkv, 0, qWidth), 'f32', [rows, qWidth]), gpu.tensorFrom(columns(qkv, qWidth, kvWidth), 'f32', [rows, kvWidth])];
        gpu.run((enc) => {
          headRmsNorm(gpu, enc, q, weights.q, rows, heads, 1e-6, { weightOffset: offset });
          headRmsNorm(gpu, enc, k, weights.k, rows, kvHeads, 1e-6, { weightOffset: offset });
        });
        expect(Array.from(columns(got, 0, qWidth))).toEqual(Array.from((await gpu.readF32(q)).subarray(0, rows * qWidth)));
        expect(Array.from(columns(got, qWidth, kvWidth))).toEqual(Array.from((await gpu.readF32(k)).subarray(0, rows * kvWidth)));
        expect(Array.from(columns(got, qWidth + kvWidth, kvWidth))).toEqual(Array.from(columns(qkv, qWidth + kvWidth, kvWidth)));
        expect(maxAbsDiff(columns(got, 0, qWidth), headRmsNormRef(columns(qkv, 0, qWidth), wq, rows, heads, 1e-6, offset))).toBeLessThan(1e-5);
        expect(maxAbsDiff(columns(got, qWidth, kvWidth), headRmsNormRef(columns(qkv, qWidth, kvWidth), wk, rows, kvHeads, 1e-6, offset))).toBeLessThan(1e-5);
      });
    }
  });

  describe(`Gemma's norms: (1 + w), and added into y [${path.name}]`, () => {
    it('rmsNorm with weight offset 1, then accumulated into y', async () => {
      const gpu = await testGpu(path);
      const [rows, dim] = [5, 300];
      const x = randomArray(rows * dim, 31, 3);
      const w = randomArray(dim, 32, 0.1);
      const y0 = randomArray(rows * dim, 33);
      const xt = gpu.tensorFrom(x, 'f32', [rows, dim]);
      const wt = gpu.tensorFrom(w, 'f32', [dim]);
      const set = gpu.tensor('f32', [rows, dim]);
      const added = gpu.tensorFrom(y0, 'f32', [rows, dim]);
      gpu.run((enc) => {
        rmsNorm(gpu, enc, xt, wt, set, rows, eps, { weightOffset: 1 });
        rmsNorm(gpu, enc, xt, wt, added, rows, eps, { weightOffset: 1, accumulate: true });
      });
      const want = rmsNormRef(x, w, rows, eps, 1);
      expect(maxAbsDiff(await gpu.readF32(set), want)).toBeLessThan(1e-5);
      expect(maxAbsDiff(await gpu.readF32(added), want.map((v, i) => v + y0[i]))).toBeLessThan(1e-5);
      // The offset matters: weights near 0 scale by about 1, not 0.
      expect(maxAbsDiff(want, rmsNormRef(x, w, rows, eps))).toBeGreaterThan(0.5);
    });

    it('headRmsNorm with weight offset 1 (Gemma 3 q_norm / k_norm)', async () => {
      const gpu = await testGpu(path);
      const [rows, heads, headDim] = [3, 4, 32];
      const x = randomArray(rows * heads * headDim, 34, 2);
      const w = randomArray(headDim, 35, 0.1);
      const t = gpu.tensorFrom(x, 'f32', [rows, heads, headDim]);
      gpu.run((enc) => headRmsNorm(gpu, enc, t, gpu.tensorFrom(w, 'f32', [headDim]), rows, heads, eps, { weightOffset: 1 }));
      expect(maxAbsDiff(await gpu.readF32(t), headRmsNormRef(x, w, rows, heads, eps, 1))).toBeLessThan(1e-5);
    });
  });

  describe(`norms, f16 weights [${path.name}]`, () => {
    it('rmsNorm and headRmsNorm match the reference on the f16-rounded weights', async () => {
      const gpu = await testGpu(path);
      // lavapipe (Node) has shader-f16 and must run it; SwiftShader (Chromium) has none and must say so.
      expect(gpu.hasF16).toBe(!inBrowser);
      const [rows, heads, headDim] = [3, 4, 64];
      const dim = heads * headDim;
      const x = randomArray(rows * dim, 21, 2);
      const w16 = f32ToF16Bits(randomArray(dim, 22));
      const h16 = f32ToF16Bits(randomArray(headDim, 23));
      const y = gpu.tensor('f32', [rows, dim]);
      const q = gpu.tensorFrom(x, 'f32', [rows, heads, headDim]);
      const record = () =>
        gpu.run((enc) => {
          rmsNorm(gpu, enc, gpu.tensorFrom(x, 'f32', [rows, dim]), gpu.tensorFrom(w16, 'f16', [dim]), y, rows, eps);
          headRmsNorm(gpu, enc, q, gpu.tensorFrom(h16, 'f16', [headDim]), rows, heads, eps);
        });
      if (!gpu.hasF16) {
        expect(record).toThrow(/shader-f16/);
        return;
      }
      record();
      expect(maxAbsDiff(await gpu.readF32(y), rmsNormRef(x, f16BitsToF32(w16), rows, eps))).toBeLessThan(1e-5);
      expect(maxAbsDiff(await gpu.readF32(q), headRmsNormRef(x, f16BitsToF32(h16), rows, heads, eps))).toBeLessThan(1e-5);
    });
  });
}
