// The tiled linear kernels (prefill, more than maxMatvecRows rows): the f32 kernel at tile shapes
// linear.ts may pick, on rows, outputs and inputs that are not multiples of any tile, with weights
// stored as f32, f16 and bf16 (read through the weight-format includes). lavapipe and SwiftShader have
// no subgroup matrices: here the tensor-core kernel's choice and its f32 fallback are checked; its
// results are checked against the same reference on the H200 (bench/h200-prefill.ts, recorded in
// bench/results/h200-prefill-kernels.md).
import { describe, expect, it } from 'vitest';
import { chooseTiledLinear, hasTensorCoresFor, linear, maxMatvecRows, type LinearWeight, type TiledLinear } from '../../src/gpu/kernels/linear.ts';

import { Gpu } from '../../src/gpu/gpu.ts';
import { subgroupMatrixFeature } from '../../src/gpu/device.ts';
import { f32ToBf16Bits, f32ToF16Bits, roundThrough } from '../../src/model/dtype.ts';
import { quantize } from '../../src/model/formats/quantize.ts';
import type { WeightPart } from '../../src/gpu/kernels/weight-format.ts';
import { linearRef } from '../reference/linear.ts';
import { maxAbsDiff, randomArray } from '../support/random.ts';
import { testGpu } from '../support/gpu.ts';

const f32Tiles: TiledLinear[] = [
  { kind: 'f32', wgM: 16, wgN: 16, tileK: 8 },
  { kind: 'f32', wgM: 8, wgN: 16, tileK: 8 },
  { kind: 'f32', wgM: 16, wgN: 8, tileK: 16 },
];

const shapes: Array<[rows: number, outs: number, ins: number]> = [
  [maxMatvecRows + 1, 5, 4],
  [33, 70, 40],
  [130, 200, 68],
  [257, 129, 132],
];

// Quantized formats (q8, q4) go through the same weight4 and are checked on the tiled path by linear.test.ts.
const formats = ['f32', 'f16', 'bf16'] as const;
type PlainFormat = (typeof formats)[number];

/** A weight stored in `format`, and the values the kernel sees (rounded through that format). */
function storedWeight(gpu: Gpu, w: Float32Array, format: PlainFormat, outs: number, ins: number): { part: LinearWeight['parts'][0]; seen: Float32Array } {
  if (format === 'f32') return { part: gpu.tensorFrom(w, 'f32', [outs, ins]), seen: w };
  const bits = format === 'f16' ? f32ToF16Bits(w) : f32ToBf16Bits(w);
  return { part: gpu.tensorFrom(bits, format, [outs, ins]), seen: roundThrough(w, format) };
}

interface Case {
  rows: number;
  outs: number;
  ins: number;
  format: PlainFormat;
  bias: boolean;
}

/** Runs one case and returns the largest difference from the reference, relative to √ins. */
async function errorOf(gpu: Gpu, c: Case, tiled: TiledLinear | undefined, roundX: boolean): Promise<number> {
  const { rows, outs, ins, format } = c;
  const seed = rows * 7919 + outs * 31 + ins;
  const x = randomArray(rows * ins, seed);
  const { part, seen } = storedWeight(gpu, randomArray(outs * ins, seed + 1), format, outs, ins);
  const b = c.bias ? randomArray(outs, seed + 2) : undefined;
  const weight: LinearWeight = { parts: [part], outs, ins, bias: b && gpu.tensorFrom(b, 'f32', [outs]) };
  const y = gpu.tensor('f32', [rows, outs]);
  gpu.run((enc) => linear(gpu, enc, gpu.tensorFrom(x, 'f32', [rows, ins]), weight, y, rows, { tiled }));
  const want = linearRef(roundX ? roundThrough(x, 'f16') : x, roundX ? roundThrough(seen, 'f16') : seen, b, rows, outs, ins);
  return maxAbsDiff(await gpu.readF32(y), want) / Math.sqrt(ins);
}

// f32 sums of ins products of values in [-1, 1), in another order than the reference's.
const f32Tolerance = 5e-6;

describe('linear, tiled f32 kernel', () => {
  for (const tiled of f32Tiles) {
    for (const [rows, outs, ins] of shapes) {
      it(`${tiled.kind === 'f32' ? `${8 * tiled.wgM}×${8 * tiled.wgN}, K slices of ${tiled.tileK}` : ''}: rows=${rows} outs=${outs} ins=${ins}`, async () => {
        const gpu = await testGpu();
        for (const format of formats) {
          for (const bias of [false, true]) {
            expect(await errorOf(gpu, { rows, outs, ins, format, bias }, tiled, false), `${format} bias=${bias}`).toBeLessThan(f32Tolerance);
          }
        }
      });
    }
  }

  it('a weight split into row ranges writes each range to its columns of Y', async () => {
    const gpu = await testGpu();
    const [rows, outs, ins] = [70, 200, 48];
    const x = randomArray(rows * ins, 5);
    const w = randomArray(outs * ins, 6);
    const b = randomArray(outs, 7);
    let row = 0;
    const parts = [70, 64, 66].map((n) => {
      const t = gpu.tensorFrom(f32ToBf16Bits(w.slice(row * ins, (row + n) * ins)), 'bf16', [n, ins]);
      row += n;
      return t;
    });
    const y = gpu.tensor('f32', [rows, outs]);
    const weight: LinearWeight = { parts, outs, ins, bias: gpu.tensorFrom(b, 'f32', [outs]) };
    gpu.run((enc) => linear(gpu, enc, gpu.tensorFrom(x, 'f32', [rows, ins]), weight, y, rows));
    const want = linearRef(x, roundThrough(w, 'bf16'), b, rows, outs, ins);
    expect(maxAbsDiff(await gpu.readF32(y), want) / Math.sqrt(ins)).toBeLessThan(f32Tolerance);
  });

  it('refuses inputs that are not a multiple of 4 long, which the weight reads cannot take', async () => {
    const gpu = await testGpu();
    const weight: LinearWeight = { parts: [gpu.tensorFrom(new Float32Array(6 * 7), 'f32', [6, 7])], outs: 6, ins: 7 };
    const y = gpu.tensor('f32', [9, 6]);
    const x = gpu.tensor('f32', [9, 7]);
    expect(() => gpu.run((enc) => linear(gpu, enc, x, weight, y, 9))).toThrow(/multiple of 4/);
  });
});

describe('linear, tensor-core kernel', () => {
  it('is chosen for 16-bit and quantized weights exactly where the device has subgroup matrices; f32 weights stay f32', async () => {
    const gpu = await testGpu();
    const has = gpu.adapter.subgroupMatrixConfigs.length > 0 && gpu.adapter.subgroupSizes.max === 32;
    const parts: Array<[string, LinearWeight['parts'][number]]> = formats.map((format) => [format, storedWeight(gpu, new Float32Array(128 * 8), format, 8, 128).part]);
    for (const format of ['q8', 'q4', 'q4g128'] as const) {
      const packed = quantize(format, new Float32Array(128 * 8));
      const part: WeightPart = { buffer: gpu.upload(packed.data), scales: gpu.upload(packed.scales), dtype: 'u32', shape: [8, 128], format };
      parts.push([format, part]);
    }
    for (const [format, part] of parts) {
      const weight: LinearWeight = { parts: [part], outs: 8, ins: 128 };
      const tensorCores = has && format !== 'f32';
      expect(hasTensorCoresFor(gpu, weight), format).toBe(tensorCores);
      expect(chooseTiledLinear(gpu, weight, 100).kind, format).toBe(tensorCores ? 'tensor-cores' : 'f32');
    }
  });

  it('gets no subgroup-matrix feature when asked for no tensor cores', async () => {
    const gpu = await Gpu.create({ tensorCores: false });
    try {
      expect(gpu.device.features.has(subgroupMatrixFeature)).toBe(false);
      expect(gpu.adapter.subgroupMatrixConfigs).toEqual([]);
      const weight: LinearWeight = { parts: [storedWeight(gpu, new Float32Array(64), 'bf16', 8, 8).part], outs: 8, ins: 8 };
      expect(chooseTiledLinear(gpu, weight, 100).kind).toBe('f32');
    } finally {
      gpu.destroy();
    }
  });
});
