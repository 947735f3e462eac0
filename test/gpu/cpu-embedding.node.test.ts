// The input embedding gathered on the CPU (LoadWeightsOptions.cpuEmbedding) against the GPU's embed
// kernel: the same rows bit for bit in every weight format (table rows cut into chunks whose ends fall
// mid-group and mid-scale-word, ids past the vocabulary), and on an untied golden fixture the same
// logits and greedy answer as the GPU embedding with the table's bytes off the GPU; a tied model keeps
// its table on the GPU (its lm_head reads it).
import { describe, expect, it } from 'vitest';
import { embed } from '../../src/gpu/kernels/embed.ts';
import type { LinearWeight } from '../../src/gpu/kernels/linear.ts';
import { isQuantized, weightBytes, weightFormats, type WeightFormat, type WeightPart } from '../../src/gpu/kernels/weight-format.ts';
import { CpuEmbedding, type EmbeddingChunk } from '../../src/model/cpu-embedding.ts';
import { f32ToBf16Bits, f32ToF16Bits } from '../../src/model/dtype.ts';
import { quantize, type PackedWeights } from '../../src/model/formats/quantize.ts';
import { planMemory } from '../../src/model/memory-plan.ts';
import { loadWeights } from '../../src/model/weights.ts';
import { StarEngine } from '../../src/star/star-engine.ts';
import { openLocalHost } from '../../src/star/local-host.ts';
import { fixtureConfig, fixtureSource, loadGolden, type FixtureModel } from '../support/fixtures.ts';
import { fixtureModelSource } from '../support/golden-checks.ts';
import { testGpu } from '../support/gpu.ts';
import { randomArray } from '../support/random.ts';

/** The table's rows [first, first + rows) in `format`, as loadWeights converts them. */
function converted(values: Float32Array, format: WeightFormat): EmbeddingChunk['values'] {
  if (format === 'f32') return values;
  if (format === 'bf16') return f32ToBf16Bits(values);
  if (format === 'f16') return f32ToF16Bits(values);
  return quantize(format, values);
}

describe('CpuEmbedding.gather against the embed kernel', () => {
  // 3 groups of 128 a row (q8: 12 scales, so with an odd chunk of rows nothing is word-aligned but rows).
  const [vocab, hidden, chunkRows] = [37, 384, 5];
  const table = randomArray(vocab * hidden, 5);
  const ids = Uint32Array.from([0, 36, 5, 4, 5, 37, 0xffffffff, 20, 1]);

  it.each(weightFormats)('%s: the same f32 rows, bit for bit; ids ≥ vocab give zero rows', async (format) => {
    const gpu = await testGpu();
    const chunks: EmbeddingChunk[] = [];
    for (let first = 0; first < vocab; first += chunkRows) {
      const rows = Math.min(chunkRows, vocab - first);
      chunks.push({ firstRow: first, rows, values: converted(table.subarray(first * hidden, (first + rows) * hidden), format) });
    }
    const cpu = new CpuEmbedding(vocab, hidden, format, chunks).gather(ids);

    const whole = converted(table, format);
    const part: WeightPart = isQuantized(format)
      ? { buffer: gpu.upload((whole as PackedWeights).data), scales: gpu.upload((whole as PackedWeights).scales), dtype: 'u32', shape: [vocab, hidden], format }
      : { ...gpu.tensorFrom(whole as Float32Array | Uint16Array, format as 'f32' | 'f16' | 'bf16', [vocab, hidden]), format };
    const weight: LinearWeight = { parts: [part], outs: vocab, ins: hidden };
    const out = gpu.tensorFrom(new Float32Array(ids.length * hidden).fill(NaN), 'f32', [ids.length, hidden]);
    gpu.run((encoder) => embed(gpu, encoder, weight, gpu.upload(ids), out, ids.length));
    const onGpu = await gpu.readF32(out);
    expect(new Uint32Array(cpu.buffer)).toEqual(new Uint32Array(onGpu.buffer));
    expect(cpu.subarray(5 * hidden, 7 * hidden).every((v) => v === 0)).toBe(true);
  });

  it('refuses chunks that do not cover the table in equal steps', () => {
    const chunk = (firstRow: number, rows: number): EmbeddingChunk => ({ firstRow, rows, values: new Float32Array(rows * 4) });
    expect(() => new CpuEmbedding(10, 4, 'f32', [chunk(0, 4), chunk(4, 4)])).toThrow(/do not cover rows 0…9/);
    expect(() => new CpuEmbedding(10, 4, 'f32', [chunk(0, 4), chunk(4, 3), chunk(7, 3)])).toThrow(/in equal steps/);
    expect(new CpuEmbedding(10, 4, 'f32', [chunk(0, 4), chunk(4, 4), chunk(8, 2)]).bytes).toBe(160);
  });
});

/** The golden query's logits and 4 greedy answer ids (answered on the GPU, as the reader does), Star Attention b=128. */
async function answer(model: FixtureModel, cpuEmbedding: boolean, weightType: 'f32' | 'q8') {
  const golden = await loadGolden(model);
  const engine = await StarEngine.create({
    model: fixtureModelSource(model),
    weightType,
    cpuEmbedding,
    kvType: 'f32',
    ropeDType: golden.ropeDType,
    conversationRoom: 64,
    openHost: openLocalHost,
  });
  try {
    await engine.encode(Array.from(golden.contextIds), { attention: 'star', blockSize: 128 });
    const query = Array.from(golden.queryIds);
    const logits = await engine.feed(query.slice(0, -1), 'all');
    const vocab = engine.info.config.vocab;
    await engine.beginAnswer({ sampling: { temperature: 0 }, vocab, seen: query });
    const ids: number[] = [];
    try {
      let next = await engine.step(query.slice(-1));
      for (let i = 0; i < 4; i++) {
        ids.push(next);
        next = await engine.step([next]);
      }
    } finally {
      await engine.endAnswer();
    }
    return { logits, ids, gpuBytes: engine.info.weightBytes };
  } finally {
    await engine.dispose();
  }
}

describe('an engine with the embedding gathered on the CPU', () => {
  it.each(['f32', 'q8'] as const)('tiny-qwen3 (untied), %s: the GPU embedding\'s logits and answer exactly, the table off the GPU', async (weightType) => {
    const model = 'tiny-qwen3';
    const config = await fixtureConfig(model);
    expect(config.tieWordEmbeddings).toBe(false);
    const gpu = await answer(model, false, weightType);
    const cpu = await answer(model, true, weightType);
    expect(cpu.ids).toEqual(gpu.ids);
    expect(new Uint32Array(cpu.logits.buffer)).toEqual(new Uint32Array(gpu.logits.buffer));
    // GPU buffers are whole 16-byte units (Gpu.buffer); the plan counts the bytes.
    const table = weightBytes(weightType, config.vocab * config.hidden);
    const padded = (bytes: number) => Math.ceil(bytes / 16) * 16;
    expect(gpu.gpuBytes - cpu.gpuBytes).toBe(padded(table.data) + (table.scales && padded(table.scales)));
    const limits = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 2 ** 40 };
    const plan = (cpuEmbedding: boolean) => planMemory(config, { contextTokens: 0, weightType, cpuEmbedding, limits });
    expect(plan(true).cpuWeightBytes).toBe(table.data + table.scales);
    expect(plan(false).weightBytes - plan(true).weightBytes).toBe(table.data + table.scales);
    expect(plan(false).cpuWeightBytes).toBe(0);
  });

  it('tiny-qwen2 (tied): the table stays on the GPU for the lm_head, the plan counts it there', async () => {
    const gpu = await testGpu();
    const model = 'tiny-qwen2';
    const config = await fixtureConfig(model);
    const weights = await loadWeights(gpu, await fixtureSource(model), config, { cpuEmbedding: true });
    try {
      expect(weights.embedding).toBe(weights.lmHead);
      const limits = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 2 ** 40 };
      const plan = planMemory(config, { contextTokens: 0, weightType: 'f32', cpuEmbedding: true, limits });
      expect([plan.weightBytes, plan.cpuWeightBytes]).toEqual([weights.bytes, 0]);
    } finally {
      weights.destroy();
    }
  });
});
