import { describe, expect, it } from 'vitest';
import { addInPlace, gatedActivation, scaleInPlace, siluMul, softcapInPlace } from '../../src/gpu/kernels/elementwise.ts';
import { addRef, geluTanhMulRef, siluMulRef, softcapRef } from '../reference/elementwise.ts';
import { testGpu } from '../support/gpu.ts';
import { maxAbsDiff, randomArray } from '../support/random.ts';

describe('addInPlace (residual)', () => {
  for (const count of [1, 255, 1000, 65_537]) {
    it(`count=${count}`, async () => {
      const gpu = await testGpu();
      const acc = randomArray(count, count);
      const x = randomArray(count, count + 1);
      const t = gpu.tensorFrom(acc, 'f32', [count]);
      gpu.run((enc) => addInPlace(gpu, enc, t, gpu.tensorFrom(x, 'f32', [count]), count));
      expect(maxAbsDiff(await gpu.readF32(t), addRef(acc, x))).toBeLessThan(1e-6);
    });
  }

  it('only the first `count` elements change', async () => {
    const gpu = await testGpu();
    const t = gpu.tensorFrom(new Float32Array(300).fill(1), 'f32', [300]);
    gpu.run((enc) => addInPlace(gpu, enc, t, gpu.tensorFrom(new Float32Array(300).fill(2), 'f32', [300]), 257));
    const got = await gpu.readF32(t);
    expect(got.subarray(0, 257).every((v) => v === 3)).toBe(true);
    expect(got.subarray(257).every((v) => v === 1)).toBe(true);
  });

  it('more elements than one grid dimension of workgroups holds (folded into y)', async () => {
    const gpu = await testGpu();
    const count = 65_600 * 256 + 3;
    const acc = randomArray(count, 1);
    const x = randomArray(count, 2);
    const t = gpu.tensorFrom(acc, 'f32', [count]);
    gpu.run((enc) => addInPlace(gpu, enc, t, gpu.tensorFrom(x, 'f32', [count]), count));
    expect(maxAbsDiff(await gpu.readF32(t), addRef(acc, x))).toBeLessThan(1e-6);
  });
});

describe('siluMul (SwiGLU gate)', () => {
  // gate values out to ±100: exp(-g) would overflow f32 for g < -88 without care
  const gate = randomArray(5000, 7, 100);
  const up = randomArray(5000, 8, 3);

  it('into a separate output', async () => {
    const gpu = await testGpu();
    const out = gpu.tensor('f32', [5000]);
    gpu.run((enc) => siluMul(gpu, enc, gpu.tensorFrom(gate, 'f32', [5000]), gpu.tensorFrom(up, 'f32', [5000]), out, 5000));
    const got = await gpu.readF32(out);
    expect(got.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(got, siluMulRef(gate, up))).toBeLessThan(1e-4); // |values| up to 300
  });

  it('in place over gate (out = gate), only the first `count` elements', async () => {
    const gpu = await testGpu();
    const count = 4097;
    const g = gpu.tensorFrom(gate, 'f32', [5000]);
    gpu.run((enc) => siluMul(gpu, enc, g, gpu.tensorFrom(up, 'f32', [5000]), g, count));
    const got = await gpu.readF32(g);
    expect(maxAbsDiff(got.subarray(0, count), siluMulRef(gate, up).subarray(0, count))).toBeLessThan(1e-4);
    expect(got.subarray(count)).toEqual(gate.subarray(count));
  });

  it('small gates keep full relative precision', async () => {
    const gpu = await testGpu();
    const small = randomArray(1000, 9, 1e-3);
    const ones = new Float32Array(1000).fill(1);
    const out = gpu.tensor('f32', [1000]);
    gpu.run((enc) => siluMul(gpu, enc, gpu.tensorFrom(small, 'f32', [1000]), gpu.tensorFrom(ones, 'f32', [1000]), out, 1000));
    expect(maxAbsDiff(await gpu.readF32(out), siluMulRef(small, ones))).toBeLessThan(1e-9);
  });
});

describe('gatedActivation gelu_tanh (Gemma MLP gate)', () => {
  // gate values out to ±30: tanh of large arguments must stay finite (±1)
  const gate = randomArray(3000, 11, 30);
  const up = randomArray(3000, 12, 3);

  it('into a separate output and in place, only the first `count` elements', async () => {
    const gpu = await testGpu();
    const out = gpu.tensor('f32', [3000]);
    const g = gpu.tensorFrom(gate, 'f32', [3000]);
    const u = gpu.tensorFrom(up, 'f32', [3000]);
    gpu.run((enc) => gatedActivation(gpu, enc, 'gelu_tanh', g, u, out, 3000));
    const separate = await gpu.readF32(out);
    expect(separate.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(separate, geluTanhMulRef(gate, up))).toBeLessThan(1e-4); // |values| up to 90
    gpu.run((enc) => gatedActivation(gpu, enc, 'gelu_tanh', g, u, g, 2049));
    const inPlace = await gpu.readF32(g);
    expect(maxAbsDiff(inPlace.subarray(0, 2049), geluTanhMulRef(gate, up).subarray(0, 2049))).toBeLessThan(1e-4);
    expect(inPlace.subarray(2049)).toEqual(gate.subarray(2049));
  });

  it('gates of order 1, where gelu and silu differ most', async () => {
    const gpu = await testGpu();
    const g = randomArray(1000, 13, 2);
    const ones = new Float32Array(1000).fill(1);
    const out = gpu.tensor('f32', [1000]);
    gpu.run((enc) => gatedActivation(gpu, enc, 'gelu_tanh', gpu.tensorFrom(g, 'f32', [1000]), gpu.tensorFrom(ones, 'f32', [1000]), out, 1000));
    const want = geluTanhMulRef(g, ones);
    expect(maxAbsDiff(await gpu.readF32(out), want)).toBeLessThan(1e-6);
    expect(maxAbsDiff(want, siluMulRef(g, ones))).toBeGreaterThan(0.05);
  });
});

describe('scaleInPlace and softcapInPlace (Gemma embedding scale, Gemma 2 logit soft-capping)', () => {
  it('scale by √hidden, only the first `count` elements', async () => {
    const gpu = await testGpu();
    const x = randomArray(700, 14, 2);
    const t = gpu.tensorFrom(x, 'f32', [700]);
    const s = Math.fround(Math.sqrt(2304));
    gpu.run((enc) => scaleInPlace(gpu, enc, t, s, 650));
    const got = await gpu.readF32(t);
    expect(got.subarray(0, 650)).toEqual(x.subarray(0, 650).map((v) => Math.fround(v * s)));
    expect(got.subarray(650)).toEqual(x.subarray(650));
  });

  it('soft-cap at 30: logits far past the cap approach ±30, small ones barely move', async () => {
    const gpu = await testGpu();
    const x = randomArray(5000, 15, 200);
    const t = gpu.tensorFrom(x, 'f32', [5000]);
    gpu.run((enc) => softcapInPlace(gpu, enc, t, 30, 5000));
    const got = await gpu.readF32(t);
    expect(got.every((v) => Math.abs(v) <= 30)).toBe(true);
    expect(maxAbsDiff(got, softcapRef(x, 30))).toBeLessThan(1e-5);
    expect(() => gpu.run((enc) => softcapInPlace(gpu, enc, t, 0, 5000))).toThrow('soft-capping needs a positive cap, got 0');
  });
});
