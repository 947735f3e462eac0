import { describe, expect, it } from 'vitest';
import { linear, maxMatvecRows, type LinearWeight } from '../../src/gpu/kernels/linear.ts';
import { linearRef } from '../reference/linear.ts';
import { maxAbsDiff, randomArray } from '../support/random.ts';
import { inBrowser, subgroupPaths, testGpu } from '../support/gpu.ts';
import { f32ToF16Bits, f16BitsToF32 } from '../../src/model/dtype.ts';

// Rows up to maxMatvecRows take the matrix–vector kernel, more rows the tiled one. The matrix–vector
// kernel has a subgroup path and a workgroup-memory path: its shapes run on both, with outputs that
// leave the last workgroup part-filled and input lengths shorter than a workgroup or than a subgroup.
// The tiled kernel reads inputs 4 at a time (every stored matrix's rows are): its rows have ins % 4 = 0
// (more in linear-tiled.test.ts).
const shapes: Array<[rows: number, outs: number, ins: number]> = [
  [1, 1, 1],
  [1, 64, 64],
  [1, 6, 37],
  [3, 5, 7],
  [2, 4999, 2048],
  [4, 1027, 1000],
  [maxMatvecRows, 258, 130],
  [maxMatvecRows + 1, 258, 132],
  [64, 64, 16],
  [65, 130, 36],
  [100, 96, 160],
  [17, 300, 64],
];

for (const path of subgroupPaths) {
  // The tiled kernel (more rows) has one path: its cases run once.
  const onThisPath = (rows: number) => path.subgroups || rows <= maxMatvecRows;

  describe(`linear (Y = X·Wᵀ + b), f32 weights [${path.name}]`, () => {
    it(`runs on the ${path.name} path`, async () => {
      const gpu = await testGpu(path);
      expect(gpu.hasSubgroups).toBe(path.subgroups);
      if (!path.subgroups) {
        const subgroupBuild = { aliases: { W: 'f32' }, includes: { matvec_reduce: 'matvec_reduce_subgroups' } } as const;
        expect(() => gpu.pipeline('matvec', subgroupBuild)).toThrow(/no subgroups feature/);
      }
    });

    for (const [rows, outs, ins] of shapes.filter(([rows]) => onThisPath(rows))) {
      for (const withBias of [false, true]) {
        it(`rows=${rows} outs=${outs} ins=${ins} bias=${withBias}`, async () => {
          const gpu = await testGpu(path);
          const seed = rows * 7919 + outs * 31 + ins;
          const x = randomArray(rows * ins, seed);
          const w = randomArray(outs * ins, seed + 1);
          const b = withBias ? randomArray(outs, seed + 2) : undefined;
          const weight: LinearWeight = {
            parts: [gpu.tensorFrom(w, 'f32', [outs, ins])],
            outs,
            ins,
            bias: b ? gpu.tensorFrom(b, 'f32', [outs]) : undefined,
          };
          const y = gpu.tensor('f32', [rows, outs]);
          gpu.run((enc) => linear(gpu, enc, gpu.tensorFrom(x, 'f32', [rows, ins]), weight, y, rows));
          const got = await gpu.readF32(y);
          expect(maxAbsDiff(got, linearRef(x, w, b, rows, outs, ins))).toBeLessThan(1e-4 * Math.sqrt(ins));
        });
      }
    }

    for (const rows of [1, 9].filter(onThisPath)) {
      it(`a weight split into row ranges gives the same result as one piece, rows=${rows}`, async () => {
        const gpu = await testGpu(path);
        const [outs, ins] = [200, 48];
        const x = randomArray(rows * ins, 5);
        const w = randomArray(outs * ins, 6);
        const b = randomArray(outs, 7);
        const split = [70, 64, 66];
        let row = 0;
        const parts = split.map((n) => {
          const t = gpu.tensorFrom(w.slice(row * ins, (row + n) * ins), 'f32', [n, ins]);
          row += n;
          return t;
        });
        const y = gpu.tensor('f32', [rows, outs]);
        const weight: LinearWeight = { parts, outs, ins, bias: gpu.tensorFrom(b, 'f32', [outs]) };
        gpu.run((enc) => linear(gpu, enc, gpu.tensorFrom(x, 'f32', [rows, ins]), weight, y, rows));
        expect(maxAbsDiff(await gpu.readF32(y), linearRef(x, w, b, rows, outs, ins))).toBeLessThan(1e-4);
      });
    }

    it('decode rows 1..maxMatvecRows: each row of Y from its row of X, and no other row written', async () => {
      const gpu = await testGpu(path);
      const [outs, ins] = [1001, 700];
      const w = randomArray(outs * ins, 31);
      const b = randomArray(outs, 32);
      const weight: LinearWeight = { parts: [gpu.tensorFrom(w, 'f32', [outs, ins])], outs, ins, bias: gpu.tensorFrom(b, 'f32', [outs]) };
      for (let rows = 1; rows <= maxMatvecRows; rows++) {
        const x = randomArray(rows * ins, 33 + rows);
        // One spare row of Y, pre-filled: the kernel must write exactly `rows` rows.
        const y = gpu.tensorFrom(new Float32Array((rows + 1) * outs).fill(-7), 'f32', [rows + 1, outs]);
        gpu.run((enc) => linear(gpu, enc, gpu.tensorFrom(x, 'f32', [rows, ins]), weight, y, rows));
        const got = await gpu.readF32(y);
        expect(maxAbsDiff(got.subarray(0, rows * outs), linearRef(x, w, b, rows, outs, ins))).toBeLessThan(1e-4 * Math.sqrt(ins));
        expect(got.subarray(rows * outs).every((v) => v === -7)).toBe(true);
      }
    });
  });

  describe(`linear, f16 weights [${path.name}]`, () => {
    for (const rows of [1, 3, maxMatvecRows, 33].filter(onThisPath)) {
      it(`matches the reference on the f16-rounded weights, rows=${rows}`, async () => {
        const gpu = await testGpu(path);
        // lavapipe (Node) has shader-f16 and must run it; SwiftShader (Chromium) has none and must say so.
        expect(gpu.hasF16).toBe(!inBrowser);
        const [outs, ins] = [70, 40];
        const x = randomArray(rows * ins, 11);
        const w16 = f32ToF16Bits(randomArray(outs * ins, 12));
        const b16 = f32ToF16Bits(randomArray(outs, 13));
        const weight: LinearWeight = {
          parts: [gpu.tensorFrom(w16, 'f16', [outs, ins])],
          outs,
          ins,
          bias: gpu.tensorFrom(b16, 'f16', [outs]),
        };
        const y = gpu.tensor('f32', [rows, outs]);
        const record = () => gpu.run((enc) => linear(gpu, enc, gpu.tensorFrom(x, 'f32', [rows, ins]), weight, y, rows));
        if (!gpu.hasF16) {
          expect(record).toThrow(/shader-f16/);
          return;
        }
        record();
        const want = linearRef(x, f16BitsToF32(w16), f16BitsToF32(b16), rows, outs, ins);
        expect(maxAbsDiff(await gpu.readF32(y), want)).toBeLessThan(1e-4);
      });
    }
  });
}
