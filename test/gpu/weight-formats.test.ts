// Every weight storage format's WGSL (shaders/weight_<format>.wgsl, read through weight_expand.wgsl)
// against its TypeScript reference: random words, and the edges (zeros, largest magnitudes, negative
// values, odd group counts, subnormal f16 scales). Through weight4 and weight1 both.
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { expandWeight } from '../../src/gpu/kernels/weight-expand.ts';
import { quantGroupSize, weightFormats, type WeightFormat, type WeightPart } from '../../src/gpu/kernels/weight-format.ts';
import { bf16BitsToF32, f16BitsToF32, f32ToF16Bits } from '../../src/model/dtype.ts';
import { dequantize, quantize, type PackedWeights } from '../../src/model/formats/quantize.ts';
import { testGpu } from '../support/gpu.ts';
import { rng } from '../support/random.ts';

function randomWords(n: number, seed: number): Uint32Array {
  const next = rng(seed);
  return Uint32Array.from({ length: n }, () => Math.floor((next() + 1) * 2 ** 31) >>> 0);
}

/** Random finite f16 bits: normal and subnormal magnitudes, both signs, exact zeros and the extremes. */
function randomScaleBits(n: number, seed: number): Uint16Array {
  const edges = [0x0000, 0x8000, 0x0001, 0x03ff, 0x8001, 0x0400, 0x7bff, 0xfbff, 0x3c00];
  const words = randomWords(n, seed);
  return Uint16Array.from(words, (w, i) => {
    if (i < edges.length) return edges[i];
    const bits = w & 0xffff;
    return (bits & 0x7c00) === 0x7c00 ? bits & 0x83ff : bits; // no infinities or NaN
  });
}

interface Case {
  part: (gpu: Gpu) => WeightPart;
  want: Float32Array;
}

function caseFor(format: WeightFormat, rows: number, ins: number, seed: number): Case {
  const count = rows * ins;
  const shape = [rows, ins];
  switch (format) {
    case 'f32': {
      const words = randomWords(count, seed).map((w) => ((w >>> 23) & 0xff) === 0xff ? w & 0xbfffffff : w); // finite
      return { part: (gpu) => ({ ...gpu.tensorFrom(words, 'f32', shape), format }), want: new Float32Array(words.buffer) };
    }
    case 'f16': {
      const bits = randomScaleBits(count, seed);
      return { part: (gpu) => ({ ...gpu.tensorFrom(bits, 'f16', shape), format }), want: f16BitsToF32(bits) };
    }
    case 'bf16': {
      const bits = Uint16Array.from(randomWords(count, seed), (w) => ((w >>> 7) & 0xff) === 0xff ? w & 0xbfff : w & 0xffff);
      return { part: (gpu) => ({ ...gpu.tensorFrom(bits, 'bf16', shape), format }), want: bf16BitsToF32(bits) };
    }
    case 'q8':
    case 'q4':
    case 'q4g128': {
      const groups = Math.ceil(count / quantGroupSize(format));
      const words = randomWords(format === 'q8' ? count / 4 : count / 8, seed);
      const scaleBits = randomScaleBits(groups, seed + 1);
      const scales = new Uint32Array(format === 'q8' ? Math.ceil(groups / 2) : groups);
      if (format === 'q8') new Uint16Array(scales.buffer).set(scaleBits);
      else {
        const zeroBits = f32ToF16Bits(Float32Array.from(randomWords(groups, seed + 2), (w, g) => (g % 3 === 0 ? w % 16 : (w % 4000) / 250)));
        scales.set(Uint32Array.from(scaleBits, (s, g) => (s | (zeroBits[g] << 16)) >>> 0));
      }
      if (format === 'q8') words[0] = 0x7f81807f; // 127, -128, -127, 127
      else words[0] = 0xf0f0ff00;
      const packed: PackedWeights = { format, data: words, scales };
      return { part: (gpu) => packedPart(gpu, packed, shape), want: dequantize(packed) };
    }
  }
}

function packedPart(gpu: Gpu, packed: PackedWeights, shape: number[]): WeightPart {
  return { buffer: gpu.upload(packed.data), scales: gpu.upload(packed.scales), dtype: 'u32', shape, format: packed.format };
}

async function expand(gpu: Gpu, part: WeightPart, single: boolean): Promise<Float32Array> {
  const count = part.shape.reduce((a, b) => a * b, 1);
  const out = gpu.tensor('f32', [count]);
  gpu.run((encoder) => expandWeight(gpu, encoder, part, out, { single }));
  return gpu.readF32(out);
}

/** Bitwise equality, so that -0 and +0 (and every subnormal) count. */
function expectSameBits(got: Float32Array, want: Float32Array): void {
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const first = a.findIndex((v, i) => v !== b[i] && !(got[i] === 0 && want[i] === 0));
  if (first >= 0) expect.fail(`element ${first}: got ${got[first]} want ${want[first]}`);
  expect(got.length).toBe(want.length);
}

// [rows, ins]: one group; an odd number of groups (q8's last scale word half used); many rows; three
// groups of 128 a row (q4g128's groups are counted over the whole matrix like the others', so a part
// of a group is read right too).
const shapes: Array<[number, number]> = [
  [1, 32],
  [3, 96],
  [5, 160],
  [64, 256],
  [2, 384],
];

describe.each(weightFormats)('weight format %s: WGSL against the TypeScript reference', (format) => {
  for (const [rows, ins] of shapes) {
    for (const single of [false, true]) {
      it(`[${rows}, ${ins}] through ${single ? 'weight1' : 'weight4'}`, async () => {
        const gpu = await testGpu();
        const { part, want } = caseFor(format, rows, ins, rows * 131 + ins);
        expectSameBits(await expand(gpu, part(gpu), single), want);
      });
    }
  }
});

describe('quantized at load, then read by the GPU', () => {
  it.each(['q8', 'q4', 'q4g128'] as const)('%s: the GPU reads what the reference dequantizer reads', async (format) => {
    const gpu = await testGpu();
    const next = rng(format === 'q8' ? 11 : format === 'q4' ? 12 : 13);
    const values = Float32Array.from({ length: 7 * 128 }, (_, i) => (i < 128 ? 0 : i < 256 ? 1e-6 * next() : next() * (i % 5)));
    const packed = quantize(format, values);
    expectSameBits(await expand(gpu, packedPart(gpu, packed, [7, 128]), false), dequantize(packed));
  });

  it('refuses a quantized part without scales, and a 16-bit part with them', async () => {
    const gpu = await testGpu();
    const out = gpu.tensor('f32', [32]);
    const q8: WeightPart = { buffer: gpu.buffer(32), dtype: 'u32', shape: [1, 32], format: 'q8' };
    expect(() => gpu.run((e) => expandWeight(gpu, e, q8, out))).toThrow(/q8 weight needs a scales buffer/);
    const f16: WeightPart = { ...gpu.tensor('f16', [1, 32]), format: 'f16', scales: gpu.buffer(4) };
    expect(() => gpu.run((e) => expandWeight(gpu, e, f16, out))).toThrow(/f16 weight has no use for a scales buffer/);
  });
});
