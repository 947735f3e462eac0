// Every weight format's reference dequantizer against fixtures whose bytes were written from the
// formats' specifications by test/fixtures/formats/make_formats.py (numpy, independent of the code
// under test): Star Reader's q8/q4 layouts, AutoGPTQ and AutoAWQ int4 packing, ggml's blocks in a
// GGUF file, and a tiny llama-architecture GGUF model (names, permuted Q/K, metadata, tokenizer).
import { describe, expect, it } from 'vitest';
import { createTokenizer } from '../../src/model/tokenizer.ts';
import { dequantizeGgml, ggmlRows, ggmlTypeName } from '../../src/model/formats/ggml.ts';
import { llama3Scaling, openGguf, readGgufHeader, unpermutedRows } from '../../src/model/formats/gguf.ts';
import { ropeInverseFrequencies } from '../../src/model/rope-frequencies.ts';
import { dequantizeInt4, int4Format, int4Tensor, int4ToQ4, parseInt4Config, type Int4Layer } from '../../src/model/formats/gptq.ts';
import { dequantize, quantizeQ4, quantizeQ8 } from '../../src/model/formats/quantize.ts';
import { readSafetensorsHeader, readTensorBytes } from '../../src/model/safetensors.ts';
import { openDirectorySource } from '../../src/model/source/directory-source.node.ts';
import { openFileSource } from '../../src/model/source/file-source.ts';
import { type ModelFiles } from '../../src/model/source/model-files.ts';
import { safetensorsProvider } from '../../src/model/formats/safetensors-provider.ts';
import { isGgufFile, splitFileUrl } from '../../src/model/formats/checkpoint.ts';
import { parseWeightType } from '../../src/model/weights.ts';

const fixtures = openDirectorySource(decodeURIComponent(new URL('../fixtures/formats/', import.meta.url).pathname));

async function readAll(source: ModelFiles, file: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const [name, info] of (await readSafetensorsHeader(source, file)).tensors) out.set(name, (await readTensorBytes(source, info)).slice());
  return out;
}

const u32 = (b: Uint8Array) => new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
const f32 = (b: Uint8Array) => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);

/** Bitwise, with -0 equal to +0. */
function expectSame(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  const first = got.findIndex((v, i) => !Object.is(v, want[i]) && !(v === 0 && want[i] === 0));
  if (first >= 0) expect.fail(`element ${first}: got ${got[first]}, want ${want[first]}`);
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

describe('q8, q4 and q4g128 layouts (make_formats.py q_layout, q4g128_layout)', () => {
  it.each(['q8', 'q4', 'q4g128'] as const)('%s: the reference dequantizer reads the values the layout specifies', async (format) => {
    const t = await readAll(fixtures, format === 'q4g128' ? 'q-layout-g128.safetensors' : 'q-layout.safetensors');
    expectSame(dequantize({ format, data: u32(t.get(`${format}.data`)!), scales: u32(t.get(`${format}.scales`)!) }), f32(t.get(`${format}.values`)!));
  });

  it('q4g128 quantizes each group of 128 as q4 quantizes a group of 32: one scale and zero over all 128', () => {
    const values = Float32Array.from({ length: 2 * 384 }, (_, i) => (i < 128 ? 0 : Math.sin(i * 1.7) * (1 + (i % 11))));
    const packed = quantizeQ4(values, 'x', 'q4g128');
    expect([packed.format, packed.data.length, packed.scales.length]).toEqual(['q4g128', 96, 6]);
    const got = dequantize(packed);
    expect(got.subarray(0, 128).every((v) => v === 0)).toBe(true);
    for (let g = 1; g < 6; g++) {
      const group = values.subarray(g * 128, g * 128 + 128);
      const range = Math.max(...group, 0) - Math.min(...group, 0);
      const levels = new Set(got.subarray(g * 128, g * 128 + 128));
      expect(maxDiff(got.subarray(g * 128, g * 128 + 128), group)).toBeLessThanOrEqual((range / 15) * 1.0001);
      expect(levels.size).toBeLessThanOrEqual(16);
    }
    // One group of 128 holds what 4 groups of 32 would not share: its step is the whole group's range.
    const four = dequantize(quantizeQ4(values));
    expect(maxDiff(four, values)).toBeLessThan(maxDiff(got, values));
  });

  it('quantizers: error within the step, zeros stay zero, one-signed q4 groups use all 16 levels', () => {
    const values = Float32Array.from({ length: 128 }, (_, i) => (i < 32 ? 0 : i < 64 ? 0.5 + i / 64 : Math.sin(i) * (i % 7)));
    const q8 = dequantize(quantizeQ8(values));
    const q4 = dequantize(quantizeQ4(values));
    expect(q8.subarray(0, 32).every((v) => v === 0) && q4.subarray(0, 32).every((v) => v === 0)).toBe(true);
    for (let g = 1; g < 4; g++) {
      const group = values.subarray(g * 32, g * 32 + 32);
      const max = Math.max(...group.map(Math.abs));
      const range = Math.max(...group, 0) - Math.min(...group, 0);
      expect(maxDiff(q8.subarray(g * 32, g * 32 + 32), group)).toBeLessThanOrEqual((max / 127) * 0.5001);
      expect(maxDiff(q4.subarray(g * 32, g * 32 + 32), group)).toBeLessThanOrEqual((range / 15) * 1.0001);
    }
    expect(() => quantizeQ8(new Float32Array(40))).toThrow(/40 elements are not whole groups of 32/);
    expect(() => quantizeQ4(new Float32Array(96), 'x', 'q4g128')).toThrow(/x: 96 elements are not whole groups of 128/);
    expect(() => quantizeQ8(new Float32Array(32).fill(1e7))).toThrow(/beyond f16's range/);
  });
});

describe('GPTQ and AWQ int4 (make_formats.py gptq, awq)', () => {
  const load = async (method: 'gptq' | 'awq') => {
    const t = await readAll(fixtures, `${method}.safetensors`);
    const configs = (await fixtures.readJson('int4-configs.json')) as Record<string, unknown>;
    const config = parseInt4Config({ quantization_config: configs[method] })!;
    const layer: Int4Layer = {
      qweight: u32(t.get('layer.qweight')!),
      qzeros: u32(t.get('layer.qzeros')!),
      scales: new Uint16Array(t.get('layer.scales')!.buffer),
      gIdx: t.has('layer.g_idx') ? new Int32Array(t.get('layer.g_idx')!.buffer) : undefined,
      outs: 16,
      ins: 128,
    };
    return { layer, config, values: f32(t.get('layer.values')!) };
  };

  it.each(['gptq', 'awq'] as const)('%s: reference dequantizer and q4 unpacking both give the packed values', async (method) => {
    const { layer, config, values } = await load(method);
    expect(config.zeroOffset).toBe(method === 'gptq' ? 1 : 0);
    expectSame(dequantizeInt4(layer, config), values);
    expectSame(dequantize(int4ToQ4(layer, config)), values); // groups of 64/32 are repeated, not rounded
  });

  it('gptq in groups of 128: kept as q4g128 (one scale and zero per 128, not repeated), the same values', async () => {
    const t = await readAll(fixtures, 'gptq-g128.safetensors');
    const configs = (await fixtures.readJson('int4-configs.json')) as Record<string, unknown>;
    const config = parseInt4Config({ quantization_config: configs['gptq-g128'] })!;
    const layer: Int4Layer = {
      qweight: u32(t.get('layer.qweight')!),
      qzeros: u32(t.get('layer.qzeros')!),
      scales: new Uint16Array(t.get('layer.scales')!.buffer),
      gIdx: new Int32Array(t.get('layer.g_idx')!.buffer),
      outs: 16,
      ins: 256,
    };
    const values = f32(t.get('layer.values')!);
    expect(config.groupSize).toBe(128);
    expectSame(dequantizeInt4(layer, config), values);
    const packed = int4ToQ4(layer, config);
    expect([packed.format, packed.scales.length]).toEqual(['q4g128', 16 * 2]);
    expectSame(dequantize(packed), values);
    const stored = int4Tensor(fixtures, 'layer', (await readSafetensorsHeader(fixtures, 'gptq-g128.safetensors')).tensors, config);
    expect([stored.shape, stored.quantized]).toEqual([[16, 256], 'q4g128']);
    const rows = await stored.read(4, 8);
    if (rows.kind !== 'packed') expect.fail('layer.weight should be packed');
    expect(rows.packed.format).toBe('q4g128');
    expectSame(dequantize(rows.packed), values.subarray(4 * 256, 12 * 256));
    // Other group sizes stay q4: 64 and 32 repeated into groups of 32.
    expect(int4Format({ ...config, groupSize: 64 }, 256)).toBe('q4');
    expect(int4Format(config, 384 + 64)).toBe('q4'); // rows not whole groups of 128
  });

  it('reads a layer from a safetensors file as a q4 StoredTensor', async () => {
    const { layer, config, values } = await load('gptq');
    const tensors = (await readSafetensorsHeader(fixtures, 'gptq.safetensors')).tensors;
    const stored = int4Tensor(fixtures, 'layer', tensors, config);
    expect([stored.shape, stored.quantized, stored.minReadRows]).toEqual([[16, 128], 'q4', 16]);
    const rows = await stored.read(0, 16);
    expect(rows.kind).toBe('packed');
    if (rows.kind === 'packed') expectSame(dequantize(rows.packed), values);
    expect(layer.gIdx).toBeDefined();
  });

  it('refuses act-order group indices that split a run of 32 inputs, and configs q4 cannot hold', async () => {
    const { layer, config } = await load('gptq');
    const shuffled = Int32Array.from(layer.gIdx!, (g, i) => (i % 2 === 0 ? g : 1 - g));
    expect(dequantizeInt4({ ...layer, gIdx: shuffled }, config).length).toBe(16 * 128); // the reference reads any g_idx
    expect(() => int4ToQ4({ ...layer, gIdx: shuffled }, config, 'q_proj')).toThrow(/q_proj: g_idx puts inputs 0–31 in different groups \(an act-order\/desc_act checkpoint\)/);
    expect(() => parseInt4Config({ quantization_config: { quant_method: 'gptq', bits: 8, group_size: 128 } })).toThrow(/8-bit weights: only 4-bit/);
    expect(() => parseInt4Config({ quantization_config: { quant_method: 'gptq', bits: 4, group_size: 256 } })).toThrow(/group_size 256/);
    expect(() => parseInt4Config({ quantization_config: { quant_method: 'awq', bits: 4, group_size: 128, version: 'gemv' } })).toThrow(/only "gemm"/);
    expect(() => parseInt4Config({ quantization_config: { quant_method: 'bitsandbytes' } })).toThrow(/only GPTQ and AWQ/);
    expect(parseInt4Config({ model_type: 'qwen2' })).toBeUndefined();
  });
});

describe('ggml blocks in a GGUF file (make_formats.py blocks)', () => {
  it('each type: the reference dequantizer gives ggml\'s values; what the loader stores is the same or within the format\'s step', async () => {
    const header = await readGgufHeader(fixtures, 'blocks.gguf');
    const expected = await readAll(fixtures, 'blocks.expected.safetensors');
    const seen: string[] = [];
    for (const info of header.tensorInfos) {
      const type = ggmlTypeName(info.dtype)!;
      const [ins, rows] = info.shape.map(Number);
      const size = { F32: 4, F16: 2, BF16: 2, Q4_0: 18 / 32, Q8_0: 34 / 32, Q4_K: 144 / 256, Q6_K: 210 / 256 }[type] * rows * ins;
      const bytes = await fixtures.read('blocks.gguf', Number(header.tensorDataOffset + info.offset), size);
      const want = f32(expected.get(info.name)!);
      const reference = dequantizeGgml(type, bytes, rows * ins);
      expectSame(reference, want);
      const stored = ggmlRows(type, bytes, rows * ins);
      if (stored.kind === 'float') {
        expect(stored.dtype).toBe(type);
      } else {
        const got = dequantize(stored.packed);
        const largest = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        // Q4_0/Q8_0 exactly; Q4_K's scale and zero rounded to f16; Q6_K requantized to 8 bits.
        const tolerance = { Q4_0: 0, Q8_0: 0, Q4_K: largest * 2 ** -9, Q6_K: largest / 254 }[type as 'Q4_0'];
        expect(maxDiff(got, want)).toBeLessThanOrEqual(tolerance);
        expect(stored.packed.format).toBe(type === 'Q8_0' || type === 'Q6_K' ? 'q8' : 'q4');
      }
      seen.push(type);
    }
    expect(seen.sort()).toEqual(['BF16', 'F16', 'F32', 'Q4_0', 'Q4_K', 'Q6_K', 'Q8_0']);
  });
});

describe('a GGUF model (make_formats.py tiny_llama)', () => {
  it('config from the metadata, tensors under Hugging Face names, Q and K rows un-permuted', async () => {
    const model = await openGguf(fixtures, 'tiny-llama.gguf');
    const { config } = model;
    expect([config.hidden, config.layers, config.heads, config.kvHeads, config.headDim, config.intermediate, config.vocab]).toEqual([256, 1, 2, 1, 16, 32, 8]);
    expect([config.tieWordEmbeddings, config.attentionBias]).toEqual([false, false]);
    // rope_freqs.weight (llama.cpp's Llama 3 frequency factors) read back as the rope_scaling they came from.
    expect(config.rope.scaling).toEqual({ type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
    expect(model.provider.description).toMatch(/^GGUF \(/);
    expect(Object.fromEntries(model.tensorFormats)).toEqual({
      'model.layers.0.self_attn.q_proj.weight': 'q4',
      'model.layers.0.self_attn.k_proj.weight': 'q8',
      'model.layers.0.self_attn.v_proj.weight': 'q8',
      'model.layers.0.self_attn.o_proj.weight': 'q4',
      'model.layers.0.mlp.gate_proj.weight': 'q4',
      'model.layers.0.mlp.up_proj.weight': 'q8',
      'model.layers.0.mlp.down_proj.weight': 'q8',
    });
    expect(model.provider.get('model.embed_tokens.weight')!.floatDType).toBe('BF16');
    expect(model.provider.get('lm_head.weight')!.floatDType).toBe('F16');
    const expected = await readAll(fixtures, 'tiny-llama.expected.safetensors');
    for (const [name, rows, bound] of [
      ['model.layers.0.self_attn.q_proj.weight', 32, 2 ** -9],
      ['model.layers.0.self_attn.k_proj.weight', 16, 1 / 254],
    ] as const) {
      const want = f32(expected.get(name)!);
      const stored = await model.provider.get(name)!.read(0, rows);
      if (stored.kind !== 'packed') expect.fail(`${name} should be quantized`);
      const largest = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(maxDiff(dequantize(stored.packed), want)).toBeLessThanOrEqual(largest * bound);
      // A part of the rows is the same rows of the whole.
      const part = await model.provider.get(name)!.read(rows / 2, rows / 2);
      if (part.kind === 'packed') expectSame(dequantize(part.packed), dequantize(stored.packed).subarray((rows / 2) * 256));
    }
  });

  it('refuses frequency factors that are not Llama 3\'s', async () => {
    const model = await openGguf(fixtures, 'tiny-llama.gguf');
    const { invFreq } = ropeInverseFrequencies(16, 10000);
    const scaled = ropeInverseFrequencies(16, 10000, model.config.rope.scaling).invFreq;
    const factors = Float32Array.from(invFreq, (v, j) => v / scaled[j]);
    expect(llama3Scaling(factors, 16, 10000, 'x.gguf').factor).toBeCloseTo(8, 6);
    factors[6] *= 1.01; // the one dimension between the low- and high-frequency bands
    expect(() => llama3Scaling(factors, 16, 10000, 'x.gguf')).toThrow(/x\.gguf: rope_freqs\.weight\[6\] = .* is not Llama 3's factor for dimension 6/);
  });

  it('un-permutation inverts llama.cpp\'s permute', () => {
    // permute: rows (head, half, i) → (head, i, half); 2 heads of 8 rows.
    expect([...unpermutedRows(16, 2)]).toEqual([0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15]);
  });

  it('tokenizer and chat template from the metadata', async () => {
    const model = await openGguf(fixtures, 'tiny-llama.gguf');
    expect(model.chatTemplate).toContain("{{ '<|eot_id|>' }}");
    const tokenizer = createTokenizer(model.tokenizer!.tokenizerJson, model.tokenizer!.tokenizerConfig);
    expect(tokenizer.encode('ab a', { addSpecialTokens: false })).toEqual([5, 6]);
    expect(tokenizer.encode('<|eot_id|>ba', { addSpecialTokens: false })).toEqual([1, 7]);
    expect(tokenizer.decode([5, 6, 1], { skipSpecialTokens: true })).toBe('ab a');
    expect([tokenizer.bosTokenId, tokenizer.eosTokenId, tokenizer.isSpecial(1), tokenizer.isSpecial(5)]).toEqual([0, 1, true, false]);
  });

  it('refuses what it cannot read, saying what', async () => {
    await expect(openGguf(fixtures, 'blocks.gguf')).rejects.toThrow(/GGUF architecture "none" is not supported/);
    await expect(openGguf(fixtures, 'gptq.safetensors')).rejects.toThrow(/gptq\.safetensors .* is not a readable GGUF file/);
  });
});

describe('a GPTQ safetensors checkpoint (make_formats.py gptq, as a model folder)', () => {
  const folder = async (withConfig: boolean) => {
    const model = await fixtures.read('gptq.safetensors', 0, await fixtures.size('gptq.safetensors'));
    const configs = (await fixtures.readJson('int4-configs.json')) as Record<string, unknown>;
    const files = new Map([['model.safetensors', new File([model.slice()], 'model.safetensors')]]);
    const config = { model_type: 'llama', ...(withConfig ? { quantization_config: configs.gptq } : {}) };
    files.set('config.json', new File([JSON.stringify(config)], 'config.json'));
    return openFileSource(files, 'gptq folder');
  };

  it('is recognised by its contents: <layer>.weight is the q4 unpacking of qweight/qzeros/scales/g_idx', async () => {
    const provider = await safetensorsProvider(await folder(true));
    expect(provider.description).toBe('GPTQ int4 safetensors');
    const stored = provider.get('layer.weight')!;
    const rows = await stored.read(0, 16);
    const values = f32((await readAll(fixtures, 'gptq.safetensors')).get('layer.values')!);
    if (rows.kind !== 'packed') expect.fail('layer.weight should be packed');
    expectSame(dequantize(rows.packed), values);
    expect(provider.get('layer.values')!.floatDType).toBe('F32'); // float tensors are float tensors
    expect(() => provider.get('layer.g_idx')).toThrow(/Tensor "layer\.g_idx" in model\.safetensors is I32, which is not supported/);
  });

  it('without a quantization_config says so', async () => {
    const provider = await safetensorsProvider(await folder(false));
    expect(() => provider.get('layer.weight')).toThrow(/"layer\.qweight" is quantized but config\.json has no quantization_config/);
  });
});

describe('parseWeightType', () => {
  it('takes the six types and refuses others with the list', () => {
    expect(['f32', 'BF16', ' f16', 'q8', 'q4', 'Q4G128'].map(parseWeightType)).toEqual(['f32', 'bf16', 'f16', 'q8', 'q4', 'q4g128']);
    expect(() => parseWeightType('int4')).toThrow('Weight type must be one of f32, bf16, f16, q8, q4, q4g128, got "int4"');
  });
});

describe('splitFileUrl and isGgufFile', () => {
  it('a GGUF URL as the base a openUrlSource reads and the file in it', () => {
    expect(splitFileUrl('https://huggingface.co/x/y/resolve/main/Model-Q4_K_M.gguf?download=true')).toEqual({
      base: 'https://huggingface.co/x/y/resolve/main/',
      file: 'Model-Q4_K_M.gguf',
    });
    expect(isGgufFile('Model-Q4_K_M.GGUF')).toBe(true);
    expect(isGgufFile('model.safetensors')).toBe(false);
    expect(() => splitFileUrl('https://example.com/models/')).toThrow(/names a folder, not a file/);
  });
});
