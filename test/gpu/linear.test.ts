import { describe, expect, it } from 'vitest';
import { linear, maxMatvecRows, type LinearWeight, type MatvecShape } from '../../src/gpu/kernels/linear.ts';
import { linearRef } from '../reference/linear.ts';
import { rmsNormRef } from '../reference/norms.ts';
import { maxAbsDiff, randomArray } from '../support/random.ts';
import { subgroupPaths, testGpu } from '../support/gpu.ts';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../src/model/dtype.ts';
import { dequantize, quantize } from '../../src/model/formats/quantize.ts';

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
        // Refused before the code is compiled: any Params will do.
        const subgroupBuild = { includes: { matvec_reduce: 'matvec_reduce_subgroups' }, structs: { Params: { rows: 'u32' } } } as const;
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

  // 16-bit weights are kept packed as on disk and widened in the shader, on every adapter (no
  // shader-f16 needed): the result must be what f32 storage of the same numbers gives, bit for bit.
  const sixteenBit = [
    { format: 'f16', bits: f32ToF16Bits, widen: f16BitsToF32 },
    { format: 'bf16', bits: f32ToBf16Bits, widen: bf16BitsToF32 },
  ] as const;
  for (const { format, bits, widen } of sixteenBit) {
    describe(`linear, ${format} weights [${path.name}]`, () => {
      for (const [rows, outs, ins] of [[1, 70, 40], [3, 70, 40], [maxMatvecRows, 33, 36], [1, 9, 7], [33, 70, 40], [40, 13, 8]].filter(([r]) => onThisPath(r))) {
        it(`equals f32 storage of the same values, rows=${rows} outs=${outs} ins=${ins}`, async () => {
          const gpu = await testGpu(path);
          const x = gpu.tensorFrom(randomArray(rows * ins, 11), 'f32', [rows, ins]);
          const w16 = bits(randomArray(outs * ins, 12));
          const bias = gpu.tensorFrom(randomArray(outs, 13), 'f32', [outs]);
          const packed: LinearWeight = { parts: [gpu.tensorFrom(w16, format, [outs, ins])], outs, ins, bias };
          const widened: LinearWeight = { parts: [gpu.tensorFrom(widen(w16), 'f32', [outs, ins])], outs, ins, bias };
          const y16 = gpu.tensor('f32', [rows, outs]);
          const y32 = gpu.tensor('f32', [rows, outs]);
          gpu.run((enc) => {
            linear(gpu, enc, x, packed, y16, rows);
            linear(gpu, enc, x, widened, y32, rows);
          });
          expect(await gpu.readF32(y16)).toEqual(await gpu.readF32(y32));
        });
      }
    });
  }

  // Quantized weights: dequantized in the kernel, so the result must be what f32 storage of the
  // dequantized values gives (sums in the same order: equal up to the rounding of each product).
  // q4g128's shapes have rows of 1–5 groups of 128, on the matrix–vector and the tiled kernel.
  const quantizedShapes = {
    q8: [[1, 70, 64], [maxMatvecRows, 33, 96], [33, 70, 64]],
    q4: [[1, 70, 64], [maxMatvecRows, 33, 96], [33, 70, 64]],
    q4g128: [[1, 70, 128], [maxMatvecRows, 33, 384], [33, 70, 256], [65, 130, 640]],
  } as const;
  for (const format of ['q8', 'q4', 'q4g128'] as const) {
    describe(`linear, ${format} weights [${path.name}]`, () => {
      for (const [rows, outs, ins] of quantizedShapes[format].filter(([r]) => onThisPath(r))) {
        it(`equals f32 storage of the dequantized values, rows=${rows} outs=${outs} ins=${ins}`, async () => {
          const gpu = await testGpu(path);
          const x = gpu.tensorFrom(randomArray(rows * ins, 21), 'f32', [rows, ins]);
          const packed = quantize(format, randomArray(outs * ins, 22));
          const bias = gpu.tensorFrom(randomArray(outs, 23), 'f32', [outs]);
          const part = { buffer: gpu.upload(packed.data), scales: gpu.upload(packed.scales), dtype: 'u32', shape: [outs, ins], format } as const;
          const quantized: LinearWeight = { parts: [part], outs, ins, bias };
          const widened: LinearWeight = { parts: [gpu.tensorFrom(dequantize(packed), 'f32', [outs, ins])], outs, ins, bias };
          const yq = gpu.tensor('f32', [rows, outs]);
          const y32 = gpu.tensor('f32', [rows, outs]);
          gpu.run((enc) => {
            linear(gpu, enc, x, quantized, yq, rows);
            linear(gpu, enc, x, widened, y32, rows);
          });
          expect(maxAbsDiff(await gpu.readF32(yq), await gpu.readF32(y32))).toBeLessThan(1e-5);
        });
      }
    });
  }

  // Each matvec shape read in vec4s (invocations per row group, weight rows per workgroup, vec4s in
  // flight) on lengths that leave unrolled rounds part-used and the last workgroup part-filled; the
  // shapes a CPU adapter is never given (unrolled loads, as f32 and 16-bit weights get on a GPU) too.
  // Every shape sums each row in a fixed order, so a second run gives the same bits; the subgroup
  // reduction reading every slot gives them as well.
  const vec4Shapes: MatvecShape[] = [
    { threads: 64, outsPerGroup: 4, chunked: false, unroll: 4 },
    { threads: 256, outsPerGroup: 1, chunked: false, unroll: 4 },
    { threads: 128, outsPerGroup: 2, chunked: false, unroll: 2 },
    { threads: 32, outsPerGroup: 1, chunked: false, unroll: 1 },
  ];
  describe(`matvec shapes [${path.name}]`, () => {
    for (const [rows, outs, ins] of [[1, 7, 1300], [2, 9, 522], [1, 5, 9]] as const) {
      for (const shape of vec4Shapes) {
        it(`rows=${rows} outs=${outs} ins=${ins}, ${shape.threads} invocations / ${shape.outsPerGroup} rows / ${shape.unroll} vec4s`, async () => {
          const gpu = await testGpu(path);
          const x = randomArray(rows * ins, 51);
          const w = randomArray(outs * ins, 52);
          const b = randomArray(outs, 53);
          const weight: LinearWeight = { parts: [gpu.tensorFrom(w, 'f32', [outs, ins])], outs, ins, bias: gpu.tensorFrom(b, 'f32', [outs]) };
          const xt = gpu.tensorFrom(x, 'f32', [rows, ins]);
          const runs = [shape, shape, ...(path.subgroups ? [{ ...shape, everySlot: true }] : [])].map((matvec) => {
            const y = gpu.tensor('f32', [rows, outs]);
            gpu.run((enc) => linear(gpu, enc, xt, weight, y, rows, { matvec }));
            return gpu.readF32(y);
          });
          const [first, ...others] = await Promise.all(runs);
          expect(maxAbsDiff(first, linearRef(x, w, b, rows, outs, ins))).toBeLessThan(1e-4 * Math.sqrt(ins));
          for (const other of others) expect(other).toEqual(first);
        });
      }
    }

    // bf16 weights on a GPU's shape (four vec4s at a time: 325 vec4s are one unrolled round of 256 and
    // a tail of 69) give the bits f32 weights holding the same numbers give (one reduction path: it
    // does not depend on how rows are read).
    if (path.subgroups) {
      it('bf16 and f32 storage of the same values, 64 invocations / 4 rows / 4 vec4s, ins 1300', async () => {
        const gpu = await testGpu(path);
        const [rows, outs, ins] = [1, 7, 1300];
        const x = randomArray(rows * ins, 54);
        const w16 = f32ToBf16Bits(randomArray(outs * ins, 55));
        const w = bf16BitsToF32(w16);
        const xt = gpu.tensorFrom(x, 'f32', [rows, ins]);
        const [y16, y32] = [gpu.tensor('f32', [rows, outs]), gpu.tensor('f32', [rows, outs])];
        gpu.run((enc) => {
          linear(gpu, enc, xt, { parts: [gpu.tensorFrom(w16, 'bf16', [outs, ins])], outs, ins }, y16, rows, { matvec: vec4Shapes[0] });
          linear(gpu, enc, xt, { parts: [gpu.tensorFrom(w, 'f32', [outs, ins])], outs, ins }, y32, rows, { matvec: vec4Shapes[0] });
        });
        const got = await gpu.readF32(y32);
        expect(await gpu.readF32(y16)).toEqual(got);
        expect(maxAbsDiff(got, linearRef(x, w, undefined, rows, outs, ins))).toBeLessThan(1e-4 * Math.sqrt(ins));
      });
    }
  });

  // Quantized rows read in chunks of 32 elements (GPUs: each format's weight_chunk, 16-byte loads,
  // several chunks at a time, two weight rows a workgroup), against the reference on the values each
  // format holds: in one pipeline, rows of one chunk (q4g128: one group), of fewer chunks than
  // invocations, and of 152 (unrolled rounds, then single chunks); 7 outputs leave the last workgroup
  // part-filled; q4g128 with the norm folded in. Each chunked pipeline costs seconds on lavapipe, and
  // the reduction does not depend on how rows are read: they run on the subgroup path only (q8, and
  // GATE_UP, in chunks: linear-gate-up.test.ts).
  if (path.subgroups) {
    describe(`matvec in chunks of 32 [${path.name}]`, () => {
      const quantizedCases = [
        { format: 'q4', rows: 2, unroll: 1, norm: false, lengths: [32, 96, 4864] },
        { format: 'q4g128', rows: 1, unroll: 4, norm: true, lengths: [128, 384, 4864] },
      ] as const;
      for (const { format, rows, unroll, norm, lengths } of quantizedCases) {
        it(`${format}, rows=${rows}, ${unroll} chunks at a time${norm ? ', RMSNorm' : ''}, ins ${lengths.join(', ')}`, async () => {
          const gpu = await testGpu(path);
          const outs = 7;
          const matvec: MatvecShape = { threads: 32, outsPerGroup: 2, chunked: true, unroll };
          for (const ins of lengths) {
            const x = randomArray(rows * ins, ins + 3);
            const g = randomArray(ins, ins + 5);
            const packed = quantize(format, randomArray(outs * ins, ins + 4));
            const part = { buffer: gpu.upload(packed.data), scales: gpu.upload(packed.scales), dtype: 'u32', shape: [outs, ins], format } as const;
            const inputNorm = norm ? { weight: gpu.tensorFrom(g, 'f32', [ins]), eps: 1e-6, weightOffset: 0 } : undefined;
            const y = gpu.tensor('f32', [rows, outs]);
            gpu.run((enc) => linear(gpu, enc, gpu.tensorFrom(x, 'f32', [rows, ins]), { parts: [part], outs, ins }, y, rows, { matvec, inputNorm }));
            const input = norm ? rmsNormRef(x, g, rows, 1e-6, 0) : x;
            expect(maxAbsDiff(await gpu.readF32(y), linearRef(input, dequantize(packed), undefined, rows, outs, ins))).toBeLessThan(1e-4 * Math.sqrt(ins));
          }
        });
      }

      // f32, f16 and bf16 are read in vec4s on every adapter (chunks lost for them on an H100), but
      // bench/matvec.ts times them in chunks too: each format's weight_chunk against the reference, and
      // the 16-bit formats' bits against f32 weights holding the same numbers (chunks at a time do not
      // change the order of the sums).
      it('f32, f16 and bf16 in chunks, ins 96 (fewer chunks than invocations)', async () => {
        const gpu = await testGpu(path);
        const [rows, outs, ins] = [1, 7, 96];
        const matvec: MatvecShape = { threads: 32, outsPerGroup: 2, chunked: true, unroll: 1 };
        const x = gpu.tensorFrom(randomArray(rows * ins, 61), 'f32', [rows, ins]);
        const values = randomArray(outs * ins, 62);
        for (const [format, bits, widen] of [['f16', f32ToF16Bits, f16BitsToF32], ['bf16', f32ToBf16Bits, bf16BitsToF32]] as const) {
          const w16 = bits(values);
          const w = widen(w16);
          const [y16, y32] = [gpu.tensor('f32', [rows, outs]), gpu.tensor('f32', [rows, outs])];
          gpu.run((enc) => {
            linear(gpu, enc, x, { parts: [gpu.tensorFrom(w16, format, [outs, ins])], outs, ins }, y16, rows, { matvec });
            linear(gpu, enc, x, { parts: [gpu.tensorFrom(w, 'f32', [outs, ins])], outs, ins }, y32, rows, { matvec });
          });
          const got = await gpu.readF32(y32);
          expect(await gpu.readF32(y16)).toEqual(got);
          expect(maxAbsDiff(got, linearRef(await gpu.readF32(x), w, undefined, rows, outs, ins))).toBeLessThan(1e-4 * Math.sqrt(ins));
        }
      });
    });
  }

  describe(`linear, accumulate (y += x·wᵀ) [${path.name}]`, () => {
    for (const rows of [1, 4, 20].filter(onThisPath)) {
      it(`adds to what y holds, rows=${rows}`, async () => {
        const gpu = await testGpu(path);
        const [outs, ins] = [130, 64];
        const x = randomArray(rows * ins, 41);
        const w = randomArray(outs * ins, 42);
        const b = randomArray(outs, 43);
        const before = randomArray(rows * outs, 44);
        const weight: LinearWeight = { parts: [gpu.tensorFrom(w, 'f32', [outs, ins])], outs, ins, bias: gpu.tensorFrom(b, 'f32', [outs]) };
        const y = gpu.tensorFrom(before, 'f32', [rows, outs]);
        gpu.run((enc) => linear(gpu, enc, gpu.tensorFrom(x, 'f32', [rows, ins]), weight, y, rows, { accumulate: true }));
        const want = linearRef(x, w, b, rows, outs, ins).map((v, i) => v + before[i]);
        expect(maxAbsDiff(await gpu.readF32(y), want)).toBeLessThan(1e-4 * Math.sqrt(ins));
      });
    }
  });
}
