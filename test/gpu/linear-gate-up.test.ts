// Decoding's fused gate and up projection (shaders/matvec.wgsl's GATE_UP): one dispatch over [Wgate; Wup]
// gives, bit for bit, what the gate projection and the up projection with its gating folded in (GATED)
// give one after the other, and the plain references' act(x·Wgateᵀ) ⊙ x·Wupᵀ; with and without the
// folded RMSNorm, on both reduction paths, in f32 and q8; and q8 read in chunks, as a GPU reads it,
// against the references. And the gating of prefill's fused output
// (gatedPairs) against its reference.
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { gatedPairs, type GateActivation } from '../../src/gpu/kernels/elementwise.ts';
import { linear, maxMatvecRows, type LinearWeight, type MatvecShape } from '../../src/gpu/kernels/linear.ts';
import type { WeightPart } from '../../src/gpu/kernels/weight-format.ts';
import { dequantize, quantize } from '../../src/model/formats/quantize.ts';
import { linearRef } from '../reference/linear.ts';
import { rmsNormRef } from '../reference/norms.ts';
import { geluTanhMulRef, siluMulRef } from '../reference/elementwise.ts';
import { maxAbsDiff, randomArray } from '../support/random.ts';
import { subgroupPaths, testGpu } from '../support/gpu.ts';

interface Stored {
  part: WeightPart;
  values: Float32Array;
}

/** `values` ([rows, ins]) as one part of `format`, and the values it holds. */
function stored(gpu: Gpu, values: Float32Array, rows: number, ins: number, format: 'f32' | 'q8'): Stored {
  if (format === 'f32') return { part: { ...gpu.tensorFrom(values, 'f32', [rows, ins]), format }, values };
  const packed = quantize('q8', values);
  const scales = gpu.tensorFrom(packed.scales, 'u32', [packed.scales.length]).buffer;
  return { part: { ...gpu.tensorFrom(packed.data, 'u32', [rows, ins]), format, scales }, values: dequantize(packed) };
}

/** Gate and up weights of `outs` rows each, and [Wgate; Wup] holding the same words (as loadWeights concatenates them). */
function gateAndUp(gpu: Gpu, outs: number, ins: number, format: 'f32' | 'q8', seed: number) {
  const linearOf = (part: WeightPart, rows: number): LinearWeight => ({ parts: [part], outs: rows, ins });
  if (format === 'f32') {
    const values = randomArray(2 * outs * ins, seed);
    const [gate, up] = [values.subarray(0, outs * ins), values.subarray(outs * ins)].map((v) => stored(gpu, v, outs, ins, format).part);
    return { gate: linearOf(gate, outs), up: linearOf(up, outs), fused: linearOf(stored(gpu, values, 2 * outs, ins, format).part, 2 * outs), values };
  }
  const [gate, up] = [0, 1].map((i) => quantize('q8', randomArray(outs * ins, seed + i)));
  const cat = (a: Uint32Array, b: Uint32Array) => Uint32Array.from([...a, ...b]);
  const part = (data: Uint32Array, scales: Uint32Array, rows: number): WeightPart => ({
    ...gpu.tensorFrom(data, 'u32', [rows, ins]),
    format,
    scales: gpu.tensorFrom(scales, 'u32', [scales.length]).buffer,
  });
  return {
    gate: linearOf(part(gate.data, gate.scales, outs), outs),
    up: linearOf(part(up.data, up.scales, outs), outs),
    fused: linearOf(part(cat(gate.data, up.data), cat(gate.scales, up.scales), 2 * outs), 2 * outs),
    values: Float32Array.from([...dequantize(gate), ...dequantize(up)]),
  };
}

// [rows, outs, ins, activation, with the norm, format, matvec shape (else chooseMatvec's: four rows a
// workgroup on a CPU adapter)]; each pipeline costs seconds on lavapipe.
const gpuLike: MatvecShape = { threads: 64, outsPerGroup: 2, chunked: false, unroll: 4 };
// As a GPU reads q8 rows: in chunks (one at a time: unrolled chunks are tested in linear.test.ts);
// against the references only (a chunked pipeline costs lavapipe seconds to compile).
const chunked: MatvecShape = { threads: 32, outsPerGroup: 2, chunked: true, unroll: 1 };
const cases: Array<[number, number, number, GateActivation, boolean, 'f32' | 'q8', MatvecShape?]> = [
  [1, 37, 64, 'silu', true, 'f32'],
  [2, 19, 40, 'silu', false, 'f32', gpuLike], // one pair a workgroup, as on a GPU
  [3, 65, 13, 'gelu_tanh', false, 'f32'],
  [maxMatvecRows, 33, 128, 'silu', true, 'q8'], // 132 groups of 32 a half: whole scale words
  [1, 7, 4864, 'silu', true, 'q8', chunked],
];

for (const path of subgroupPaths) {
  describe(`linear with gate and up fused [${path.name}]`, () => {
    for (const [rows, outs, ins, activation, normed, format, matvec] of path.subgroups ? cases : cases.slice(0, 1)) {
      it(`rows=${rows} outs=${outs} ins=${ins}, ${activation}${normed ? ', RMSNorm' : ''}, ${format}${matvec ? `, ${matvec.chunked ? 'in chunks, ' : ''}two rows a workgroup` : ''}`, async () => {
        const gpu = await testGpu(path);
        const seed = rows * 131 + outs * 7 + ins;
        const x = gpu.tensorFrom(randomArray(rows * ins, seed, 3), 'f32', [rows, ins]);
        const g = randomArray(ins, seed + 2);
        const w = gateAndUp(gpu, outs, ins, format, seed + 1);
        const inputNorm = normed ? { weight: gpu.tensorFrom(g, 'f32', [ins]), eps: 1e-6, weightOffset: 0 } : undefined;
        const y = gpu.tensor('f32', [rows, outs]);
        gpu.run((enc) => linear(gpu, enc, x, w.fused, y, rows, { inputNorm, gateUp: activation, matvec }));

        const got = await gpu.readF32(y);
        if (!matvec?.chunked) {
          // The two dispatches it replaces, on the same numbers.
          const gate = gpu.tensor('f32', [rows, outs]);
          const up = gpu.tensor('f32', [rows, outs]);
          gpu.run((enc) => {
            linear(gpu, enc, x, w.gate, gate, rows, { inputNorm, matvec });
            linear(gpu, enc, x, w.up, up, rows, { inputNorm, gate: { values: gate, activation }, matvec });
          });
          expect(Array.from(got)).toEqual(Array.from(await gpu.readF32(up)));
        }

        const xs = await gpu.readF32(x);
        const input = normed ? rmsNormRef(xs, g, rows, 1e-6, 0) : xs;
        const gateRef = linearRef(input, w.values.subarray(0, outs * ins), undefined, rows, outs, ins);
        const upRef = linearRef(input, w.values.subarray(outs * ins), undefined, rows, outs, ins);
        const want = activation === 'silu' ? siluMulRef(gateRef, upRef) : geluTanhMulRef(gateRef, upRef);
        const scale = Math.max(1, ...Array.from(want, Math.abs));
        expect(maxAbsDiff(got, want) / scale).toBeLessThan(2e-6 * Math.sqrt(ins) * 10);
      });
    }
  });
}

describe('gatedPairs: the gating of a fused gate and up output', () => {
  it('rows of [gate, up] to act(gate) · up, widths not a multiple of the workgroup', async () => {
    const gpu = await testGpu();
    for (const [rows, width, activation] of [[3, 300, 'silu'], [1, 7, 'gelu_tanh']] as const) {
      const values = randomArray(rows * 2 * width, rows + width, 4);
      const out = gpu.tensor('f32', [rows, width]);
      gpu.run((enc) => gatedPairs(gpu, enc, activation, gpu.tensorFrom(values, 'f32', [rows, 2 * width]), out, rows, width));
      const gate = new Float32Array(rows * width);
      const up = new Float32Array(rows * width);
      for (let r = 0; r < rows; r++) {
        gate.set(values.subarray(r * 2 * width, r * 2 * width + width), r * width);
        up.set(values.subarray(r * 2 * width + width, (r + 1) * 2 * width), r * width);
      }
      const want = activation === 'silu' ? siluMulRef(gate, up) : geluTanhMulRef(gate, up);
      expect(maxAbsDiff(await gpu.readF32(out), want)).toBeLessThan(1e-5);
    }
  });
});

describe('linear with gate and up fused: refused where it cannot run', () => {
  it('a weight with a bias or more than one part', async () => {
    const gpu = await testGpu();
    const part = gpu.tensorFrom(new Float32Array(64), 'f32', [4, 16]);
    const x = gpu.tensor('f32', [1, 16]);
    const y = gpu.tensor('f32', [1, 4]);
    const split: LinearWeight = { parts: [part, part], outs: 8, ins: 16 };
    expect(() => gpu.run((enc) => linear(gpu, enc, x, split, y, 1, { gateUp: 'silu' }))).toThrow('one part of an even number of rows');
    const biased: LinearWeight = { parts: [part], outs: 4, ins: 16, bias: gpu.tensorFrom(new Float32Array(4), 'f32', [4]) };
    expect(() => gpu.run((enc) => linear(gpu, enc, x, biased, y, 1, { gateUp: 'silu' }))).toThrow('no bias');
  });
});
