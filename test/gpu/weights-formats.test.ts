// loadWeights in every weight format: 16-bit checkpoints kept as they are on disk (bf16 stays bf16, f16
// stays f16, f32 rounded to the one asked for), q8/q4 quantized at load; what the GPU reads back
// (through weight_expand) against the CPU's own conversion of the file, and the bytes against the
// memory plan. Shapes the formats cannot hold are refused with the reason.
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { expandWeight } from '../../src/gpu/kernels/weight-expand.ts';
import type { WeightPart } from '../../src/gpu/kernels/weight-format.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { roundThrough } from '../../src/model/dtype.ts';
import { openCheckpoint } from '../../src/model/formats/checkpoint.ts';
import { safetensorsProvider } from '../../src/model/formats/safetensors-provider.ts';
import { toFloat32 } from '../../src/model/safetensors.ts';
import { dequantize, quantize } from '../../src/model/formats/quantize.ts';
import { planMemory } from '../../src/model/memory-plan.ts';
import { syntheticModelFiles } from '../../src/model/synthetic-weights.ts';
import { openFileSource } from '../../src/model/source/file-source.ts';
import { openUrlSource } from '../../src/model/source/url-source.ts';
import { type ModelFiles } from '../../src/model/source/model-files.ts';
import { loadWeights, ModelWeightsError, projectionOf, type LoadedLinear, type WeightType } from '../../src/model/weights.ts';
import { fixtureConfig, fixtureModels, fixtureSource, fixturesUrl, fixtureWeights } from '../support/fixtures.ts';
import { testGpu } from '../support/gpu.ts';

/** test/fixtures/formats: from disk in Node, over HTTP from the test server in the browser. */
async function formatFixtures(): Promise<ModelFiles> {
  const url = new URL('../formats/', fixturesUrl); // beside hf-golden, served the same way
  if (url.protocol !== 'file:') return openUrlSource(url.href, { cache: false });
  const { openDirectorySource } = await import('../../src/model/source/directory-source.node.ts');
  return openDirectorySource(decodeURIComponent(url.pathname));
}

async function expandLinear(gpu: Gpu, w: LoadedLinear): Promise<Float32Array> {
  const out = new Float32Array(w.outs * w.ins);
  let at = 0;
  for (const part of w.parts) {
    const values = gpu.tensor('f32', [part.shape[0] * w.ins]);
    gpu.run((encoder) => expandWeight(gpu, encoder, part, values));
    out.set(await gpu.readF32(values), at);
    at += part.shape[0] * w.ins;
  }
  return out;
}

/** One projection's rows of its (possibly fused) matrix through the format's WGSL; a whole matrix when given one. */
async function expandRows(gpu: Gpu, w: LoadedLinear | { weight: LoadedLinear; first: number; rows: number }): Promise<Float32Array> {
  const { weight, first, rows } = 'weight' in w ? w : { weight: w, first: 0, rows: w.outs };
  return (await expandLinear(gpu, weight)).slice(first * weight.ins, (first + rows) * weight.ins);
}

const fileDType = { 'tiny-llama3': 'bf16', 'tiny-qwen2': 'f16', 'tiny-qwen3': 'f32' } as const;
const limits = (gpu: Gpu) => ({ maxBufferSize: gpu.device.limits.maxBufferSize, maxStorageBufferBindingSize: gpu.maxBindingBytes });

describe.each(fixtureModels)('loadWeights in 16 bits, %s', (model) => {
  it.each(['bf16', 'f16'] as const)('asked for %s: 16-bit files as they are, f32 files rounded; norms and biases f32', async (weightType) => {
    const gpu = await testGpu();
    const [config, cpu] = await Promise.all([fixtureConfig(model), fixtureWeights(model)]);
    const weights = await loadWeights(gpu, await fixtureSource(model), config, { weightType });
    try {
      const stored = fileDType[model] === 'f32' ? weightType : fileDType[model];
      const p = `model.layers.${config.layers - 1}.`;
      for (const [w, name] of [
        [weights.embedding as LoadedLinear, 'model.embed_tokens.weight'],
        [projectionOf(weights.layers[config.layers - 1].qkv, 'k'), `${p}self_attn.k_proj.weight`],
        [projectionOf(weights.layers[config.layers - 1].gateUp, 'up'), `${p}mlp.up_proj.weight`],
        [weights.layers[config.layers - 1].down, `${p}mlp.down_proj.weight`],
      ] as const) {
        const part = ('weight' in w ? w.weight : w).parts[0];
        expect(part.format).toBe(stored);
        expect(part.dtype).toBe(stored);
        // Read through the format's WGSL: exactly the file's numbers (rounded once when the file is f32).
        expect(await expandRows(gpu, w)).toEqual(roundThrough(cpu.get(name)!, stored));
      }
      expect(weights.finalNorm.dtype).toBe('f32');
      const bias = projectionOf(weights.layers[0].qkv, 'k').weight.bias;
      if (bias) expect(bias.dtype).toBe('f32');
      expect(weights.bytes).toBe(planMemory(config, { contextTokens: 0, weightType, limits: limits(gpu) }).weightBytes);
    } finally {
      weights.destroy();
    }
  });
});

describe('loadWeights quantized at load', () => {
  it.each(['q8', 'q4'] as const)('%s: every matrix packed with its scales, read back as the reference dequantizer reads it', async (weightType) => {
    const gpu = await testGpu();
    const model = 'tiny-qwen2';
    const [config, cpu] = await Promise.all([fixtureConfig(model), fixtureWeights(model)]);
    const weights = await loadWeights(gpu, await fixtureSource(model), config, { weightType });
    try {
      const layer = weights.layers[1];
      for (const [w, name] of [
        [weights.embedding as LoadedLinear, 'model.embed_tokens.weight'],
        [projectionOf(layer.qkv, 'v'), 'model.layers.1.self_attn.v_proj.weight'],
        [projectionOf(layer.gateUp, 'up'), 'model.layers.1.mlp.up_proj.weight'],
      ] as const) {
        const part: WeightPart = ('weight' in w ? w.weight : w).parts[0];
        expect([part.format, part.dtype, part.scales !== undefined]).toEqual([weightType, 'u32', true]);
        const values = cpu.get(name)!;
        const want = dequantize(quantize(weightType, values));
        expect(await expandRows(gpu, w)).toEqual(want);
        // The quantization error is within the format's step: |x| / 127 for q8, range / 15 for q4.
        const worst = values.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
        const largest = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        expect(worst).toBeLessThanOrEqual(weightType === 'q8' ? largest / 254 + 1e-7 : (2 * largest) / 15);
      }
      expect(projectionOf(layer.qkv, 'k').weight.bias!.dtype).toBe('f32');
      expect(weights.bytes).toBe(planMemory(config, { contextTokens: 0, weightType, limits: limits(gpu) }).weightBytes);
    } finally {
      weights.destroy();
    }
  });
});

describe('loadWeights quantized, matrices larger than one storage binding', () => {
  it.each(['q8', 'q4'] as const)('%s: row ranges with their own scales hold the whole matrix', async (weightType) => {
    const gpu = await testGpu();
    // Bindings of 1 KiB: 16 rows of 64 q8 weights, 32 of q4, per part.
    const small = Object.create(gpu, { maxBindingBytes: { value: 1024 } }) as Gpu;
    const config = await fixtureConfig('tiny-qwen3');
    const cpu = await fixtureWeights('tiny-qwen3');
    const weights = await loadWeights(small, await fixtureSource('tiny-qwen3'), config, { weightType });
    try {
      const lmHead = weights.lmHead;
      expect(lmHead.parts.length).toBe(Math.ceil(lmHead.outs / (weightType === 'q8' ? 16 : 32)));
      expect(lmHead.parts.every((p) => p.buffer.size <= 1024 && p.scales !== undefined)).toBe(true);
      expect(await expandLinear(gpu, lmHead)).toEqual(dequantize(quantize(weightType, cpu.get('lm_head.weight')!)));
    } finally {
      weights.destroy();
    }
  });
});

/** A one-layer llama with random f32 weights and rows of `hidden` (and `intermediate`, 2 · headDim) elements. */
function syntheticSource(hidden: number, intermediate = 64, headDim = 8) {
  const shape = { name: 'odd', modelType: 'llama' as const, hidden, intermediate, layers: 1, heads: 2, kvHeads: 1, headDim, vocab: 64, maxPositions: 64 };
  const files = syntheticModelFiles(shape);
  const config = parseModelConfig(JSON.parse(new TextDecoder().decode(files.get('config.json'))));
  return { config, source: openFileSource(new Map([...files].map(([name, bytes]) => [name, new File([bytes as Uint8Array<ArrayBuffer>], name)]))) };
}

describe('loadWeights quantized at load in groups of 128 (q4g128)', () => {
  it('every matrix packed in groups of 128, read back as the reference dequantizer reads it; bytes as planned', async () => {
    const gpu = await testGpu();
    const { config, source } = syntheticSource(128, 384, 64);
    const weights = await loadWeights(gpu, source, config, { weightType: 'q4g128' });
    try {
      const provider = await safetensorsProvider(source);
      for (const [w, name] of [
        [weights.embedding as LoadedLinear, 'model.embed_tokens.weight'],
        [projectionOf(weights.layers[0].qkv, 'q'), 'model.layers.0.self_attn.q_proj.weight'],
        [projectionOf(weights.layers[0].gateUp, 'gate'), 'model.layers.0.mlp.gate_proj.weight'],
        [weights.layers[0].down, 'model.layers.0.mlp.down_proj.weight'],
      ] as const) {
        const weight = 'weight' in w ? w.weight : w;
        const part: WeightPart = weight.parts[0];
        expect([part.format, part.dtype, part.scales!.size]).toEqual(['q4g128', 'u32', (weight.outs * weight.ins) / 128 * 4]);
        const rows = 'weight' in w ? w.rows : w.outs;
        const stored = await provider.get(name)!.read(0, rows);
        if (stored.kind !== 'float') expect.fail(`${name} is float in the file`);
        expect(await expandRows(gpu, w)).toEqual(dequantize(quantize('q4g128', toFloat32(stored.bytes, stored.dtype))));
      }
      expect(weights.bytes).toBe(planMemory(config, { contextTokens: 0, weightType: 'q4g128', limits: limits(gpu) }).weightBytes);
      expect(weights.bytes).toBeLessThan(planMemory(config, { contextTokens: 0, weightType: 'q4', limits: limits(gpu) }).weightBytes);
    } finally {
      weights.destroy();
    }
  });
});

describe('loadWeights refuses shapes a format cannot hold', () => {
  const source = (hidden: number) => syntheticSource(hidden);
  const cases: Array<[number, WeightType, RegExp]> = [
    [36, 'q8', /"model\.embed_tokens\.weight" has rows of 36 elements, not whole groups of 32: it cannot be stored as q8 \(use bf16 or f16 weights\)/],
    [36, 'q4', /rows of 36 elements, not whole groups of 32: it cannot be stored as q4/],
    [96, 'q4g128', /"model\.embed_tokens\.weight" has rows of 96 elements, not whole groups of 128: it cannot be stored as q4g128 \(use q4 weights\)/],
    [36, 'q4g128', /rows of 36 elements, not whole groups of 128: it cannot be stored as q4g128 \(use bf16 or f16 weights\)/],
    [18, 'f16', /"model\.embed_tokens\.weight" has rows of 18 elements: weight matrices need a multiple of 4/],
  ];
  it.each(cases)('hidden %i as %s', async (hidden, weightType, message) => {
    const gpu = await testGpu();
    const { config, source: files } = source(hidden);
    const error = await loadWeights(gpu, files, config, { weightType }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelWeightsError);
    expect((error as Error).message).toMatch(message);
    // The same model in a format that can hold it loads.
    const ok = await loadWeights(gpu, files, config, { weightType: 'f32' }).catch((e: unknown) => e);
    if (hidden % 4 === 0) (ok as { destroy(): void }).destroy();
    else expect((ok as Error).message).toMatch(/multiple of 4/);
  });
});

describe('loadWeights from a GGUF file', () => {
  it('each tensor in the format its ggml type maps to, read back as the reference reads it; bytes as planned', async () => {
    const gpu = await testGpu();
    const fixtures = await formatFixtures();
    const checkpoint = await openCheckpoint(fixtures, 'tiny-llama.gguf');
    const weights = await loadWeights(gpu, fixtures, checkpoint.config, { weightType: 'f16', provider: checkpoint.provider });
    try {
      const layer = weights.layers[0];
      const [q, k, v, gate, up] = [...(['q', 'k', 'v'] as const).map((name) => projectionOf(layer.qkv, name).weight), ...(['gate', 'up'] as const).map((name) => projectionOf(layer.gateUp, name).weight)];
      const formats = [weights.embedding as LoadedLinear, q, k, v, layer.o, gate, up, layer.down, weights.lmHead].map((w) => w.parts[0].format);
      // BF16 and F16 stay 16-bit (f16 asked), Q4_K/Q4_0 → q4, Q6_K/Q8_0 → q8: projections of one input
      // in different formats stay apart.
      expect(formats).toEqual(['bf16', 'q4', 'q8', 'q8', 'q4', 'q4', 'q8', 'q8', 'f16']);
      expect(['fused' in layer.qkv, 'fused' in layer.gateUp]).toEqual([false, false]);
      for (const [w, name] of [
        [q, 'model.layers.0.self_attn.q_proj.weight'],
        [layer.down, 'model.layers.0.mlp.down_proj.weight'],
      ] as const) {
        const stored = await checkpoint.provider.get(name)!.read(0, w.outs);
        if (stored.kind !== 'packed') expect.fail(`${name} should be quantized`);
        expect(await expandLinear(gpu, w)).toEqual(dequantize(stored.packed));
      }
      const plan = planMemory(checkpoint.config, { contextTokens: 0, weightType: 'f16', tensorFormats: checkpoint.tensorFormats, limits: limits(gpu) });
      expect(weights.bytes).toBe(plan.weightBytes);
    } finally {
      weights.destroy();
    }
  });
});
