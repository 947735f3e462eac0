import { describe, expect, it } from 'vitest';
import { argmax } from '../../src/gpu/kernels/argmax.ts';
import { argmaxRef } from '../reference/argmax.ts';
import { subgroupPaths, testGpu } from '../support/gpu.ts';
import { randomArray } from '../support/random.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';

async function runArgmax(gpu: Gpu, logits: Float32Array, rows: number): Promise<Uint32Array> {
  const vocab = logits.length / rows;
  const out = gpu.tensor('u32', [rows]);
  gpu.run((enc) => argmax(gpu, enc, gpu.tensorFrom(logits, 'f32', [rows, vocab]), rows, out.buffer));
  return gpu.readU32(out);
}

// Both paths of the reduction (subgroups, workgroup memory) on every case.
for (const path of subgroupPaths) {
  describe(`argmax (greedy token) [${path.name}]`, () => {
    it(`runs on the ${path.name} path`, async () => {
      expect((await testGpu(path)).hasSubgroups).toBe(path.subgroups);
    });

    for (const [rows, vocab] of [
      [1, 1],
      [1, 13],
      [1, 255],
      [3, 1000],
      [2, 151_936],
      [1, 262_144],
    ]) {
      it(`rows=${rows} vocab=${vocab}`, async () => {
        const gpu = await testGpu(path);
        const logits = randomArray(rows * vocab, rows * 7 + vocab, 20);
        const got = await runArgmax(gpu, logits, rows);
        expect(got).toEqual(argmaxRef(logits, rows, vocab));
      });
    }

    it('ties go to the lowest index, across and within invocations’ slices', async () => {
      const gpu = await testGpu(path);
      const vocab = 5000;
      const logits = randomArray(4 * vocab, 9, 1);
      const tie = (row: number, indices: number[]) => indices.forEach((i) => (logits[row * vocab + i] = 3));
      tie(0, [4999, 700, 1300, 2]); // lowest index also owned by a low invocation
      tie(1, [4096 + 17, 17, 256 + 17]); // same invocation (17), several passes
      tie(2, [1, 0]); // index 0 itself
      logits.fill(-2, 3 * vocab, 4 * vocab); // a row of equal values
      expect(await runArgmax(gpu, logits, 4)).toEqual(Uint32Array.from([2, 17, 0, 0]));
    });

    it('all-negative logits and a maximum in the last element', async () => {
      const gpu = await testGpu(path);
      const vocab = 777;
      const logits = randomArray(vocab, 10, 1).map((v) => v - 1e30);
      logits[vocab - 1] = -1e29;
      expect(await runArgmax(gpu, logits, 1)).toEqual(Uint32Array.from([vocab - 1]));
    });
  });
}
