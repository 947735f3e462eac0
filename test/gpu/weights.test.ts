// Loading the hf-golden models onto the GPU (Node: from the folder; browser: over HTTP from the test
// server) and reading tensors back. Error paths that need a writable folder: weights.node.test.ts.
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import type { LinearWeight } from '../../src/gpu/kernels/linear.ts';
import { loadWeights, projectionOf, type LoadedLinear } from '../../src/model/weights.ts';
import { clearCachedModel, listCachedModels } from '../../src/model/source/cached-models.ts';
import { openUrlSource } from '../../src/model/source/url-source.ts';
import { type WeightProgress } from '../../src/model/load-progress.ts';
import { fixtureConfig, fixtureLocation, fixtureModels, fixtureSource, fixtureWeights, fixturesUrl } from '../support/fixtures.ts';
import { inBrowser, testGpu } from '../support/gpu.ts';
import { maxAbsDiff } from '../support/random.ts';

/** All parts of a LinearWeight read back and concatenated. */
async function readLinear(gpu: Gpu, w: LinearWeight): Promise<Float32Array> {
  const out = new Float32Array(w.outs * w.ins);
  let at = 0;
  for (const part of w.parts) {
    const values = await gpu.readF32(part);
    out.set(values, at);
    at += values.length;
  }
  expect(at).toBe(out.length);
  return out;
}

/** One projection's rows of its (possibly fused) matrix, read back. */
async function readRows(gpu: Gpu, { weight, first, rows }: { weight: LinearWeight; first: number; rows: number }): Promise<Float32Array> {
  return (await readLinear(gpu, weight)).slice(first * weight.ins, (first + rows) * weight.ins);
}

describe.each(fixtureModels)('loadWeights, %s', (name) => {
  it('f32: tensors read back equal the CPU conversion of the file', async () => {
    const gpu = await testGpu();
    const [config, cpu] = await Promise.all([fixtureConfig(name), fixtureWeights(name)]);
    const progress: WeightProgress[] = [];
    const weights = await loadWeights(gpu, await fixtureSource(name), config, { onProgress: (p) => progress.push(p) });
    try {
      expect(weights.layers).toHaveLength(config.layers);
      expect(maxAbsDiff(await readLinear(gpu, weights.embedding as LoadedLinear), cpu.get('model.embed_tokens.weight')!)).toBe(0);
      const last = weights.layers[config.layers - 1];
      const p = `model.layers.${config.layers - 1}.`;
      // q, k and v one matrix; gate and up one matrix.
      expect('fused' in last.qkv).toBe(true);
      expect('fused' in last.gateUp).toBe(true);
      for (const [projection, name] of [
        [projectionOf(last.qkv, 'q'), 'self_attn.q_proj'],
        [projectionOf(last.qkv, 'v'), 'self_attn.v_proj'],
        [projectionOf(last.gateUp, 'up'), 'mlp.up_proj'],
      ] as const) {
        expect(maxAbsDiff(await readRows(gpu, projection), cpu.get(`${p}${name}.weight`)!)).toBe(0);
      }
      expect(maxAbsDiff(await readLinear(gpu, last.down), cpu.get(`${p}mlp.down_proj.weight`)!)).toBe(0);
      expect(maxAbsDiff(await gpu.readF32(weights.finalNorm), cpu.get('model.norm.weight')!)).toBe(0);
      const k = projectionOf(last.qkv, 'k');
      expect(k.weight.bias !== undefined).toBe(config.attentionBias);
      if (k.weight.bias) expect(maxAbsDiff((await gpu.readF32(k.weight.bias)).subarray(k.first, k.first + k.rows), cpu.get(`${p}self_attn.k_proj.bias`)!)).toBe(0);
      expect(last.qNorm !== undefined).toBe(config.qkNorm);
      if (last.qNorm) expect(maxAbsDiff(await gpu.readF32(last.qNorm), cpu.get(`${p}self_attn.q_norm.weight`)!)).toBe(0);
      if (config.tieWordEmbeddings) {
        expect(weights.lmHead).toBe(weights.embedding);
      } else {
        expect(weights.lmHead).not.toBe(weights.embedding);
        expect(maxAbsDiff(await readLinear(gpu, weights.lmHead), cpu.get('lm_head.weight')!)).toBe(0);
      }
      // Progress counts file bytes, ends at the total, and names tensors.
      const final = progress[progress.length - 1];
      expect(final.bytesDone).toBe(final.bytesTotal);
      expect(progress.every((q, i) => i === 0 || q.bytesDone >= progress[i - 1].bytesDone)).toBe(true);
      expect(final.tensor).toBe(config.tieWordEmbeddings ? 'model.norm.weight' : 'lm_head.weight');
      const fileBytes = [...cpu.values()].reduce((s, v) => s + v.length, 0) * 4;
      expect(weights.bytes).toBe(fileBytes); // every tensor, f32, once
    } finally {
      weights.destroy();
    }
  });
});

describe('loadWeights, matrices larger than one storage binding', () => {
  it('are split into row ranges that together hold the whole matrix', async () => {
    const gpu = await testGpu();
    // A device whose bindings hold 4 KiB: 16 rows of 64 f32 per part.
    const small = Object.create(gpu, { maxBindingBytes: { value: 4096 } }) as Gpu;
    const config = await fixtureConfig('tiny-qwen3');
    const cpu = await fixtureWeights('tiny-qwen3');
    const weights = await loadWeights(small, await fixtureSource('tiny-qwen3'), config);
    try {
      expect(weights.lmHead.parts.map((p) => p.shape[0])).toEqual([...Array(48).fill(16), 9]);
      expect(weights.layers[0].o.parts).toHaveLength(8); // [64, 128]: 8 rows per part
      expect(weights.layers[0].o.parts.every((p) => p.buffer.size <= 4096)).toBe(true);
      expect(maxAbsDiff(await readLinear(gpu, weights.lmHead), cpu.get('lm_head.weight')!)).toBe(0);
      expect(maxAbsDiff(await readLinear(gpu, weights.layers[0].o), cpu.get('model.layers.0.self_attn.o_proj.weight')!)).toBe(0);
    } finally {
      weights.destroy();
    }
  });
});

describe('a model from a URL', () => {
  it('is kept in the Cache API in a browser, listed, and cleared', async () => {
    const location = fixtureLocation('tiny-qwen2');
    if (!inBrowser) {
      // Node has no Cache API: asking for it says so rather than silently streaming.
      expect(() => openUrlSource('http://127.0.0.1:1/model/', { cache: true })).toThrow(/Cache API is not available/);
      expect(fixturesUrl.protocol).toBe('file:');
      return;
    }
    const gpu = await testGpu();
    await clearCachedModel(location);
    const downloads: string[] = [];
    // Files whose bytes came over the network (the index's 404 sends initiate and done, no download).
    const source = openUrlSource(location, { cache: true, onDownload: (event) => event.type === 'download' && downloads.push(event.file) });
    const weights = await loadWeights(gpu, source, await fixtureConfig('tiny-qwen2'));
    weights.destroy();
    // config.json is read too: a GPTQ/AWQ checkpoint is recognised by its quantization_config.
    expect(new Set(downloads)).toEqual(new Set(['config.json', 'model.safetensors']));
    const cached = (await listCachedModels()).find((m) => m.base === location);
    expect(cached?.files.sort()).toEqual(['config.json', 'model.safetensors']); // the 404 of the index is kept, not listed
    const configBytes = (await (await fetch(`${location}config.json`)).arrayBuffer()).byteLength;
    expect(cached?.bytes).toBe(270952 + configBytes);
    // A second source reads from the cache: no downloads.
    const again = openUrlSource(location, { cache: true, onDownload: () => expect.unreachable('downloaded twice') });
    (await loadWeights(gpu, again, await fixtureConfig('tiny-qwen2'))).destroy();
    expect(await clearCachedModel(location)).toBe(3);
    expect((await listCachedModels()).find((m) => m.base === location)).toBeUndefined();
  });
});
