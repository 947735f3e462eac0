import { describe, expect, it } from 'vitest';
import { GpuSampler } from '../../src/model/gpu-sampler.ts';
import { createSampler, planSampling, SeenIds, type SamplingOptions } from '../../src/model/sampling.ts';
import { createSamplingBuffers, destroySamplingBuffers, readoutHeaderWords, recordCandidateSample } from '../../src/gpu/kernels/sampling.ts';
import { candidatesRef } from '../reference/sampling.ts';
import { subgroupPaths, testGpu } from '../support/gpu.ts';
import { randomArray, rng } from '../support/random.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';

const QWEN_VOCAB = 151_936;

/** Samples one token per row on the GPU, each row's logits uploaded, recorded and read back in turn. */
/** Each row is uploaded after `offset` padding logits (99: they must be skipped), as rows of a batch. */
async function gpuTokens(gpu: Gpu, options: SamplingOptions, rows: Float32Array[], prompt: number[], offset = 0) {
  const vocab = rows[0].length;
  const gpuSampler = new GpuSampler(gpu, options, vocab);
  gpuSampler.observe(prompt);
  const ids: number[] = [];
  try {
    for (const row of rows) {
      const padded = new Float32Array(offset + vocab).fill(99);
      padded.set(row, offset);
      const logits = gpu.upload(padded);
      gpu.run((encoder) => gpuSampler.record(encoder, logits, offset));
      ids.push(await gpuSampler.read());
      logits.destroy();
    }
    return { ids, counts: gpuSampler.counts };
  } finally {
    gpuSampler.destroy();
  }
}

/** The CPU sampler on the same rows, the penalty over the prompt and the tokens chosen so far. */
function cpuTokens(options: SamplingOptions, rows: Float32Array[], prompt: number[]): number[] {
  const sampler = createSampler(options, rows[0].length);
  const previous = [...prompt];
  return rows.map((row) => {
    const id = sampler.sample(row, previous);
    previous.push(id);
    return id;
  });
}

/** sample_score_key: the u32 whose order is the f32's. */
function scoreKey(score: number): number {
  const bits = new Uint32Array(Float32Array.of(score).buffer)[0];
  return (bits & 0x80000000 ? ~bits : bits | 0x80000000) >>> 0;
}

function randomRows(count: number, vocab: number, seed: number, scale: number): Float32Array[] {
  return Array.from({ length: count }, (_, i) => randomArray(vocab, seed * 1000 + i + 1, scale));
}

function randomIds(count: number, vocab: number, seed: number): number[] {
  const next = rng(seed);
  return Array.from({ length: count }, () => Math.floor(((next() + 1) / 2) * vocab));
}

for (const path of subgroupPaths) {
  describe(`GPU sampler, greedy [${path.name}]`, () => {
    for (const vocab of [1, 13, 255, 4097, 10_000, QWEN_VOCAB]) {
      it(`equals the CPU sampler, vocab ${vocab}, with −∞ entries`, async () => {
        const gpu = await testGpu(path);
        const rows = randomRows(3, vocab, vocab, 8);
        rows[1].fill(-Infinity, 0, Math.floor(vocab / 2));
        if (vocab > 1) rows[2][vocab - 1] = 100; // the maximum in the last element
        const { ids } = await gpuTokens(gpu, { temperature: 0 }, rows, [], 5);
        expect(ids).toEqual(cpuTokens({ temperature: 0 }, rows, []));
      });
    }

    it('ties go to the lowest index, within a workgroup and across workgroups', async () => {
      const gpu = await testGpu(path);
      const vocab = 20_000;
      const rows = randomRows(3, vocab, 5, 1);
      for (const i of [19_999, 9000, 4100, 4097]) rows[0][i] = 2; // across workgroups of 4096
      for (const i of [300, 44, 556]) rows[1][i] = 2; // one workgroup, several invocations
      rows[2].fill(-3);
      const { ids } = await gpuTokens(gpu, { temperature: 0 }, rows, []);
      expect(ids).toEqual([4097, 44, 0]);
    });

    it('repetition penalty over thousands of prompt ids and the tokens chosen, as the CPU sampler', async () => {
      const gpu = await testGpu(path);
      const vocab = QWEN_VOCAB;
      // Close maxima, so that the penalty changes the winner often; a third of the logits negative.
      const rows = randomRows(12, vocab, 21, 3).map((row) => row.map((v) => v + 1));
      const prompt = randomIds(50_000, vocab, 22);
      for (const row of rows) for (const id of prompt.slice(0, 64)) row[id] = 5; // seen ids near the top
      const options = { temperature: 0, repetitionPenalty: 1.3 };
      const { ids } = await gpuTokens(gpu, options, rows, prompt);
      expect(ids).toEqual(cpuTokens(options, rows, prompt));
      expect(ids).not.toEqual(cpuTokens({ temperature: 0 }, rows, [])); // the penalty mattered
    });

    it('pipelined: steps recorded before reading; each chosen id penalises the next step on the GPU', async () => {
      const gpu = await testGpu(path);
      const vocab = 5000;
      const options = { temperature: 0, repetitionPenalty: 2 };
      const sampler = new GpuSampler(gpu, options, vocab);
      // Every row has the same best id 7 (logit 3) and runner-up 8 (2): only step 1 can choose 7.
      const rows = randomRows(3, vocab, 31, 1).map((row) => row.map((v, i) => (i === 7 ? 3 : i === 8 ? 2 : v)));
      const buffers = rows.map((row) => gpu.upload(row));
      for (const logits of buffers) gpu.run((encoder) => sampler.record(encoder, logits));
      const ids = [await sampler.read(), await sampler.read(), await sampler.read()];
      expect(ids).toEqual(cpuTokens(options, rows, []));
      expect(ids.slice(0, 2)).toEqual([7, 8]);
      expect((await gpu.readU32(sampler.token))[0]).toBe(ids[2]);
      buffers.forEach((b) => b.destroy());
      sampler.destroy();
    });

    it('a NaN logit and an all −∞ row fail as on the CPU; the token buffer then holds no id', async () => {
      const gpu = await testGpu(path);
      const vocab = 9000;
      const nan = randomArray(vocab, 41, 1);
      nan[8191] = NaN;
      nan[5000] = NaN;
      const sampler = new GpuSampler(gpu, { temperature: 0 }, vocab);
      const logits = gpu.upload(nan);
      gpu.run((encoder) => sampler.record(encoder, logits));
      await expect(sampler.read()).rejects.toThrow('logit 5000 is NaN');
      expect((await gpu.readU32(sampler.token))[0]).toBe(0xffffffff);
      gpu.write(logits, new Float32Array(vocab).fill(-Infinity));
      gpu.run((encoder) => sampler.record(encoder, logits));
      await expect(sampler.read()).rejects.toThrow(/every logit is -Infinity/);
      expect(() => createSampler({ temperature: 0 }, vocab).sample(nan, [])).toThrow('logit 5000 is NaN');
      logits.destroy();
      sampler.destroy();
    });
  });
}

for (const path of subgroupPaths) describe(`GPU candidate selection against its reference [${path.name}]`, () => {
  for (const [vocab, count, seed] of [
    [QWEN_VOCAB, 256, 1],
    [10_000, 64, 2],
    [300, 256, 3],
  ] as const) {
    it(`vocab ${vocab}, ${count} candidates, penalty over seen ids, ties at the boundary`, async () => {
      const gpu = await testGpu(path);
      const plan = planSampling({ temperature: 0.7, repetitionPenalty: 1.2 }, vocab);
      const logits = randomArray(vocab, seed, 4);
      // A group of equal scores straddling the C-th place, and −∞ entries.
      const order = Array.from({ length: vocab }, (_, i) => i).sort((a, b) => logits[b] - logits[a]);
      for (const i of order.slice(Math.max(0, count - 5), count + 5)) logits[i] = logits[order[count]] ?? 0;
      for (const i of order.slice(-10)) logits[i] = -Infinity;
      const seen = new SeenIds(vocab);
      seen.add(randomIds(vocab / 3, vocab, seed + 7));
      const want = candidatesRef(logits, seen.flags, plan, Math.min(count, vocab));

      const b = createSamplingBuffers(gpu, vocab, count, 1);
      const words = new Uint32Array(Math.ceil(vocab / 32));
      seen.list().forEach((id) => (words[id >> 5] |= 1 << (id & 31)));
      gpu.write(b.seen, words);
      const padded = new Float32Array(vocab + 2).fill(9);
      padded.set(logits, 2);
      const row = gpu.upload(padded); // the row at an offset
      const step = { logits: row, offset: 2, penalty: plan.penalty, inversePenalty: plan.inversePenalty, inverseTemperature: 1 / plan.temperature };
      gpu.run((encoder) => recordCandidateSample(gpu, encoder, b, step));
      const readout = await gpu.read(b.readout);
      const header = new Uint32Array(readout, 0, readoutHeaderWords);
      const got = Array.from(new Uint32Array(readout, readoutHeaderWords * 4, header[3]));
      expect(header[0]).toBe(0);
      expect(got.sort((x, y) => x - y)).toEqual([...want.ids].sort((x, y) => x - y));
      expect(header[2]).toBe(want.ids[0]);
      const rest = new Float32Array(readout, 20, 1)[0];
      expect(Math.abs(rest - want.restMass)).toBeLessThanOrEqual(1e-4 * want.restMass + 1e-30);
      expect(header[4]).toBe(scoreKey(want.bestOther));
      row.destroy();
      destroySamplingBuffers(b);
    });
  }
});

describe('GPU sampler, sampling: the same tokens as the CPU sampler for the same seed', () => {
  const vocab = QWEN_VOCAB;
  // Logits spread like a model's: a few strong tokens over a long tail.
  const rows = randomRows(24, vocab, 51, 6).map((row) => row.map((v, i) => (i % 997 === 0 ? v + 8 : v)));
  const prompt = randomIds(20_000, vocab, 52);

  for (const options of [
    { temperature: 0.7, topK: 20, topP: 0.8, repetitionPenalty: 1.05, seed: 1 }, // Qwen's generation_config
    { temperature: 1, topK: 50, seed: 2 },
    { temperature: 0.6, topK: 256, topP: 0.9, seed: 3 },
    { temperature: 0.5, topP: 0.9, repetitionPenalty: 1.2, seed: 4 }, // top-p alone
  ]) {
    it(`${JSON.stringify(options)}: over the candidates only`, async () => {
      const gpu = await testGpu();
      const { ids, counts } = await gpuTokens(gpu, options, rows, prompt);
      expect(ids).toEqual(cpuTokens(options, rows, prompt));
      expect(new Set(ids).size).toBeGreaterThan(1);
      expect(counts).toEqual({ greedy: 0, candidates: rows.length, fullRow: 0 });
    });
  }

  it('reads the whole row, with the same result, where the candidates cannot settle the token', async () => {
    const gpu = await testGpu();
    const few = rows.slice(0, 4);
    for (const options of [
      { temperature: 1.3, seed: 5 }, // plain temperature: any id can be drawn
      { topK: 300, seed: 6 }, // top-k beyond the 256 candidates
      { temperature: 2, topP: 0.9, seed: 7 }, // a nucleus of thousands of ids
    ]) {
      const { ids, counts } = await gpuTokens(gpu, options, few, prompt, 3);
      expect(ids).toEqual(cpuTokens(options, few, prompt));
      expect(counts.fullRow).toBe(few.length);
    }
  });

  it('a nucleus that ends just inside or just past the candidates', async () => {
    const gpu = await testGpu();
    // 300 equal top logits over a tail 30 below: top-p 0.505 keeps 152 of them (inside the 256
    // candidates, the lowest ids among the tied), top-p 0.95 keeps 285 (past them).
    const row = new Float32Array(10_000).fill(-30);
    const top = randomIds(300, 10_000, 61);
    for (const id of top) row[id] = 0;
    for (const [topP, path] of [
      [0.505, 'candidates'],
      [0.95, 'fullRow'],
    ] as const) {
      const options = { topP, seed: 8 };
      const rowsHere = [row, row, row];
      const { ids, counts } = await gpuTokens(gpu, options, rowsHere, []);
      expect(ids).toEqual(cpuTokens(options, rowsHere, []));
      expect(counts[path]).toBe(3);
    }
  });

  it('NaN and all −∞ fail as on the CPU; one step at a time; observe() only between steps', async () => {
    const gpu = await testGpu();
    const sampler = new GpuSampler(gpu, { topK: 5, seed: 1 }, 6000);
    const row = randomArray(6000, 81, 1);
    row[4321] = NaN;
    const logits = gpu.upload(row);
    gpu.run((encoder) => sampler.record(encoder, logits));
    expect(() => gpu.run((encoder) => sampler.record(encoder, logits))).toThrow(/pending/);
    expect(() => sampler.observe([1])).toThrow(/pending/);
    await expect(sampler.read()).rejects.toThrow('logit 4321 is NaN');
    gpu.write(logits, new Float32Array(6000).fill(-Infinity));
    gpu.run((encoder) => sampler.record(encoder, logits));
    await expect(sampler.read()).rejects.toThrow(/every logit is -Infinity/);
    await expect(sampler.read()).rejects.toThrow(/without a recorded step/);
    logits.destroy();
    sampler.destroy();
  });

  it('a vocabulary smaller than the candidates: exactly the CPU sampler', async () => {
    const gpu = await testGpu();
    const small = randomRows(20, 100, 71, 3);
    const options = { temperature: 0.9, seed: 9, repetitionPenalty: 1.5 };
    const { ids, counts } = await gpuTokens(gpu, options, small, [1, 2, 3]);
    expect(ids).toEqual(cpuTokens(options, small, [1, 2, 3]));
    expect(counts.candidates).toBe(20);
  });
});
