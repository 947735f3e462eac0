// The folds of decoding's matrix–vector kernel (shaders/matvec.wgsl): RMSNorm of the input (NORM_INPUT,
// with Gemma's 1 + g) and the MLP's gating of the output (GATED, SiLU and GELU-tanh), each alone and
// together, on both reduction paths, against the plain references run one after the other.
import { describe, expect, it } from 'vitest';
import { linear, maxMatvecRows, type LinearWeight } from '../../src/gpu/kernels/linear.ts';
import type { GateActivation } from '../../src/gpu/kernels/elementwise.ts';
import { linearRef } from '../reference/linear.ts';
import { rmsNormRef } from '../reference/norms.ts';
import { geluTanhMulRef, siluMulRef } from '../reference/elementwise.ts';
import { maxAbsDiff, randomArray } from '../support/random.ts';
import { subgroupPaths, testGpu } from '../support/gpu.ts';

// [rows, outs, ins, Gemma's norm offset, gate activation or none]
// [rows, outs, ins, Gemma's norm offset, gate activation or none, with the norm]; each pipeline costs
// seconds of compilation on lavapipe, so the cases are few and the workgroup-memory path takes one.
const cases: Array<[number, number, number, 0 | 1, GateActivation | undefined, boolean]> = [
  [1, 896, 896, 0, undefined, true],
  [3, 37, 13, 1, undefined, true],
  [maxMatvecRows, 65, 128, 0, 'silu', true],
  [2, 100, 66, 1, 'gelu_tanh', false],
];

for (const path of subgroupPaths) {
  describe(`linear with a folded norm and gating [${path.name}]`, () => {
    for (const [rows, outs, ins, offset, activation, normed] of path.subgroups ? cases : cases.slice(2, 3)) {
      it(`rows=${rows} outs=${outs} ins=${ins}${normed ? `, RMSNorm (offset ${offset})` : ''}${activation ? `, gated by ${activation}` : ''}`, async () => {
        const gpu = await testGpu(path);
        const seed = rows * 131 + outs * 7 + ins + offset;
        const x = randomArray(rows * ins, seed, 3);
        const w = randomArray(outs * ins, seed + 1);
        const g = randomArray(ins, seed + 2);
        const gate = randomArray(rows * outs, seed + 3, 4);
        const eps = 1e-6;
        const weight: LinearWeight = { parts: [gpu.tensorFrom(w, 'f32', [outs, ins])], outs, ins };
        const y = gpu.tensor('f32', [rows, outs]);
        const inputNorm = normed ? { weight: gpu.tensorFrom(g, 'f32', [ins]), eps, weightOffset: offset } : undefined;
        const gating = activation ? { values: gpu.tensorFrom(gate, 'f32', [rows, outs]), activation } : undefined;
        gpu.run((enc) => linear(gpu, enc, gpu.tensorFrom(x, 'f32', [rows, ins]), weight, y, rows, { inputNorm, gate: gating }));
        let want = linearRef(normed ? rmsNormRef(x, g, rows, eps, offset) : x, w, undefined, rows, outs, ins);
        if (activation === 'silu') want = siluMulRef(gate, want);
        if (activation === 'gelu_tanh') want = geluTanhMulRef(gate, want);
        const scale = Math.max(1, ...Array.from(want, Math.abs));
        expect(maxAbsDiff(await gpu.readF32(y), want) / scale).toBeLessThan(2e-6 * Math.sqrt(ins));
      });
    }
  });
}

describe('linear folds: refused where they cannot run', () => {
  it('more rows than the matrix–vector kernel takes, or a 16-bit norm weight', async () => {
    const gpu = await testGpu();
    const rows = maxMatvecRows + 1;
    const weight: LinearWeight = { parts: [gpu.tensorFrom(new Float32Array(64), 'f32', [4, 16])], outs: 4, ins: 16 };
    const x = gpu.tensor('f32', [rows, 16]);
    const y = gpu.tensor('f32', [rows, 4]);
    const inputNorm = { weight: gpu.tensorFrom(new Float32Array(16), 'f32', [16]), eps: 1e-6, weightOffset: 0 };
    expect(() => gpu.run((enc) => linear(gpu, enc, x, weight, y, rows, { inputNorm }))).toThrow(`needs at most ${maxMatvecRows} rows`);
    const f16Norm = { ...inputNorm, weight: { ...inputNorm.weight, dtype: 'f16' as const } };
    expect(() => gpu.run((enc) => linear(gpu, enc, x, weight, y, 1, { inputNorm: f16Norm }))).toThrow('needs an f32 weight');
  });
});
