// chooseMatvec's shapes for the decode matvec (shaders/matvec.wgsl) on a GPU and on a CPU adapter:
// f32, f16 and bf16 get one shape for a matrix (weights holding the same numbers give the same bits),
// 64 invocations a workgroup; read in vec4s, four at a time on a GPU and one on a CPU adapter; the quantized formats are read in
// chunks of 32 on a GPU only, rows a multiple of 32 only, with twice the weight rows a workgroup (1 → 2,
// 2 → 4, 4 stays), at most 8 loads of a row at a time; every partial sum has a slot.
import { describe, expect, it } from 'vitest';
import { chooseMatvec, maxMatvecRows, type MatvecDevice } from '../../src/gpu/kernels/linear.ts';
import type { WeightFormat } from '../../src/gpu/kernels/weight-format.ts';

const device = (runsOnCpu: boolean): MatvecDevice => ({ adapter: { runsOnCpu }, device: { limits: { maxComputeWorkgroupStorageSize: 32768 } } });
const vec4Formats: WeightFormat[] = ['f32', 'f16', 'bf16'];
const chunkLoads = { q8: 2, q4: 1, q4g128: 1 } as const;
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
    it(`${runsOnCpu ? 'a CPU adapter' : 'a GPU'}: one vec4 shape for f32, f16 and bf16; quantized rows in chunks ${runsOnCpu ? 'never' : 'of a multiple of 32, twice the rows a workgroup'}`, () => {
      for (const [outs, ins] of matrices) {
        for (const rows of [1, 5, maxMatvecRows]) {
          for (const norm of [false, true]) {
            const choose = (format: WeightFormat) => chooseMatvec(device(runsOnCpu), rows, outs, ins, { norm }, format);
            const plain = choose('f32');
            expect(plain.chunked).toBe(false);
            expect(plain.unroll).toBe(runsOnCpu ? 1 : 4);
            if (runsOnCpu) expect(plain.threads).toBe(64);
            for (const format of vec4Formats) expect(choose(format)).toEqual(plain);
            for (const format of Object.keys(chunkLoads) as Array<keyof typeof chunkLoads>) {
              const shape = choose(format);
              const chunked = !runsOnCpu && ins % 32 === 0;
              expect(shape.chunked).toBe(chunked);
              if (chunked) {
                expect(shape.outsPerGroup).toBe(Math.min(4, 2 * plain.outsPerGroup));
                expect(shape.unroll * chunkLoads[format]).toBeLessThanOrEqual(8);
                expect(shape.unroll * shape.threads).toBeLessThanOrEqual(Math.max(ins / 32, shape.threads));
              } else {
                expect(shape).toEqual(plain);
              }
            }
            for (const format of [...vec4Formats, ...Object.keys(chunkLoads)] as WeightFormat[]) {
              const shape = choose(format);
              expect(shape.outsPerGroup * rows + (norm ? rows : 0)).toBeLessThanOrEqual(shape.threads);
            }
          }
        }
      }
    });
  }

  // Rows per workgroup and chunks at a time as timed best on an H100 (bench/matvec.ts, where every shape
  // then ran 64 invocations: the count every shape gets now).
  it('a GPU: 64 invocations, chunks and twice the rows for q4g128, vec4s for f32 and bf16', () => {
    const gpu = device(false);
    // Llama-3.2-1B's down 2048×8192: q4g128 two rows a workgroup (17 µs; 26 with one), four chunks at a time.
    expect(chooseMatvec(gpu, 1, 2048, 8192, { norm: false }, 'q4g128')).toEqual({ threads: 64, outsPerGroup: 2, chunked: true, unroll: 4 });
    // Llama's gate+up 16384×2048: q4g128 four rows a workgroup; 64 chunks a row, one an invocation.
    expect(chooseMatvec(gpu, 1, 16384, 2048, { norm: false }, 'q4g128')).toEqual({ threads: 64, outsPerGroup: 4, chunked: true, unroll: 1 });
    // Llama's lm_head 128256×2048: bf16 and f32 in vec4s, four rows a workgroup.
    for (const format of ['bf16', 'f32'] as const) {
      expect(chooseMatvec(gpu, 1, 128256, 2048, { norm: false }, format)).toEqual({ threads: 64, outsPerGroup: 4, chunked: false, unroll: 4 });
    }
  });
});
