// chooseMatvec's shapes for the decode matvec (shaders/matvec.wgsl) on a GPU and on a CPU adapter: the
// invocations, and so the order of every sum, depend on the matrix and never on the weight format (f32
// and bf16 weights holding the same numbers give the same bits); chunks are read where rows are a
// multiple of 32 on a GPU only, at most 8 loads of a row at a time; every partial sum has a slot.
import { describe, expect, it } from 'vitest';
import { chooseMatvec, maxMatvecRows, type MatvecDevice } from '../../src/gpu/kernels/linear.ts';
import { weightFormats } from '../../src/gpu/kernels/weight-format.ts';

const device = (runsOnCpu: boolean): MatvecDevice => ({ adapter: { runsOnCpu }, device: { limits: { maxComputeWorkgroupStorageSize: 32768 } } });
const loads = { f32: 8, f16: 4, bf16: 4, q8: 2, q4: 1, q4g128: 1 };
// Qwen2.5-0.5B's and Llama-3.2-1B's matrices, and rows not a multiple of 32 (or of 4).
const matrices: Array<[outs: number, ins: number]> = [
  [1152, 896],
  [9728, 896],
  [896, 4864],
  [151936, 896],
  [2048, 8192],
  [128256, 2048],
  [70, 100],
  [5, 37],
];

describe('chooseMatvec', () => {
  for (const runsOnCpu of [false, true]) {
    it(`${runsOnCpu ? 'a CPU adapter' : 'a GPU'}: the same invocations in every format, chunks ${runsOnCpu ? 'never' : 'for rows of a multiple of 32'}`, () => {
      for (const [outs, ins] of matrices) {
        for (const rows of [1, 5, maxMatvecRows]) {
          for (const norm of [false, true]) {
            const shapes = weightFormats.map((format) => ({ format, shape: chooseMatvec(device(runsOnCpu), rows, outs, ins, { norm }, format) }));
            for (const { format, shape } of shapes) {
              expect({ threads: shape.threads, outsPerGroup: shape.outsPerGroup, chunked: shape.chunked }).toEqual({
                threads: shapes[0].shape.threads,
                outsPerGroup: shapes[0].shape.outsPerGroup,
                chunked: !runsOnCpu && ins % 32 === 0,
              });
              expect(shape.outsPerGroup * rows + (norm ? rows : 0)).toBeLessThanOrEqual(shape.threads);
              if (shape.chunked) {
                expect(shape.unroll * loads[format]).toBeLessThanOrEqual(Math.max(8, loads[format]));
                expect(shape.unroll * shape.threads).toBeLessThanOrEqual(Math.max(ins / 32, shape.threads));
              } else {
                expect(shape.unroll).toBe(1);
              }
            }
          }
        }
      }
    });
  }

  it('a GPU unrolls the formats of fewer loads a chunk: q4g128 down 2048×8192 four chunks at a time, f32 one', () => {
    expect(chooseMatvec(device(false), 1, 2048, 8192, { norm: false }, 'q4g128')).toEqual({ threads: 64, outsPerGroup: 1, chunked: true, unroll: 4 });
    expect(chooseMatvec(device(false), 1, 2048, 8192, { norm: false }, 'f32')).toEqual({ threads: 64, outsPerGroup: 1, chunked: true, unroll: 1 });
    expect(chooseMatvec(device(false), 1, 2048, 8192, { norm: false }, 'bf16').unroll).toBe(2);
  });
});
