import { describe, expect, it } from 'vitest';
import { ModelConfigError, parseModelConfig, type ModelConfig } from '../../src/model/config.ts';
import { fixtureConfig } from '../support/fixtures.ts';

// Trimmed from the Hub's config.json files of the models users load.
const llama32: Record<string, unknown> = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  vocab_size: 128256,
};
const qwen25: Record<string, unknown> = {
  architectures: ['Qwen2ForCausalLM'],
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: 'silu',
  hidden_size: 896,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  use_sliding_window: false,
  vocab_size: 151936,
};
const smollm2: Record<string, unknown> = {
  model_type: 'llama',
  hidden_size: 576,
  intermediate_size: 1536,
  num_attention_heads: 9,
  num_hidden_layers: 30,
  num_key_value_heads: 3,
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  rope_scaling: null,
  tie_word_embeddings: true,
  vocab_size: 49152,
  bos_token_id: 1,
  eos_token_id: 2,
};
const mistral: Record<string, unknown> = {
  model_type: 'mistral',
  hidden_size: 4096,
  intermediate_size: 14336,
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  max_position_embeddings: 32768,
  rms_norm_eps: 1e-5,
  rope_theta: 1000000.0,
  sliding_window: null,
  tie_word_embeddings: false,
  vocab_size: 32768,
};

const with_ = (base: Record<string, unknown>, changes: Record<string, unknown>) => ({ ...base, ...changes });
const without = (base: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(base).filter(([k]) => k !== key));

describe('parseModelConfig: the fixtures', () => {
  it('tiny-llama3: GQA, explicit head_dim, llama3 rope scaling, tied embeddings', async () => {
    expect(await fixtureConfig('tiny-llama3')).toEqual<ModelConfig>({
      modelType: 'llama',
      hidden: 64,
      layers: 3,
      heads: 4,
      kvHeads: 2,
      headDim: 16,
      intermediate: 160,
      vocab: 1024,
      rmsNormEps: 1e-5,
      rope: {
        theta: 500000,
        scaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 256 },
        partialRotaryFactor: 1,
      },
      tieWordEmbeddings: true,
      attentionBias: false,
      attentionOutputBias: false,
      qkNorm: false,
      family: expect.any(Object), // test/unit/families.test.ts
      maxPositionEmbeddings: 8192,
      bosTokenId: 1,
      eosTokenIds: [2],
    });
  });

  it('tiny-qwen2: q/k/v biases without an o_proj bias, head_dim from hidden/heads', async () => {
    const c = await fixtureConfig('tiny-qwen2');
    expect([c.modelType, c.headDim, c.kvHeads, c.attentionBias, c.attentionOutputBias, c.qkNorm]).toEqual(['qwen2', 16, 1, true, false, false]);
    expect(c.rope).toEqual({ theta: 1e6, scaling: undefined, partialRotaryFactor: 1 });
  });

  it('tiny-qwen3: q/k norm, head_dim decoupled from hidden size, untied lm_head', async () => {
    const c = await fixtureConfig('tiny-qwen3');
    expect([c.modelType, c.hidden, c.headDim, c.qkNorm, c.tieWordEmbeddings, c.attentionBias]).toEqual(['qwen3', 64, 32, true, false, false]);
  });
});

describe('parseModelConfig: Hub configs', () => {
  it('Llama 3.2: eos list, llama3 scaling under rope_scaling.rope_type', () => {
    const c = parseModelConfig(llama32);
    expect(c.eosTokenIds).toEqual([128001, 128008, 128009]);
    expect(c.rope.scaling).toEqual({ type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
    expect([c.headDim, c.kvHeads, c.tieWordEmbeddings]).toEqual([64, 8, true]);
  });

  it('Qwen2.5: a sliding_window size that use_sliding_window leaves off is fine', () => {
    const c = parseModelConfig(qwen25);
    expect([c.headDim, c.attentionBias, c.eosTokenIds, c.rope.scaling]).toEqual([64, true, [151645], undefined]);
  });

  it('SmolLM2 is a llama; Mistral with sliding_window null is full attention', () => {
    expect(parseModelConfig(smollm2)).toMatchObject({ modelType: 'llama', headDim: 64, kvHeads: 3, rope: { theta: 100000 } });
    expect(parseModelConfig(mistral)).toMatchObject({ modelType: 'mistral', headDim: 128, attentionBias: false, bosTokenId: undefined, eosTokenIds: [] });
  });

  it('llama attention_bias puts biases on q, k, v and o', () => {
    expect(parseModelConfig(with_(smollm2, { attention_bias: true }))).toMatchObject({ attentionBias: true, attentionOutputBias: true });
  });

  it('legacy rope_scaling with the `type` key', () => {
    expect(parseModelConfig(with_(smollm2, { rope_scaling: { type: 'linear', factor: 2 } })).rope.scaling).toEqual({ type: 'linear', factor: 2 });
    expect(parseModelConfig(with_(smollm2, { rope_scaling: { type: 'default' } })).rope.scaling).toBeUndefined();
  });

  it('transformers 5 rope_parameters, which also carries rope_theta', () => {
    const yarn = parseModelConfig(
      with_(without(qwen25, 'rope_theta'), {
        rope_parameters: { rope_type: 'yarn', rope_theta: 1e6, factor: 4, original_max_position_embeddings: 32768 },
      }),
    );
    expect(yarn.rope.theta).toBe(1e6);
    expect(yarn.rope.scaling).toMatchObject({ type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 32768 });
    const plain = parseModelConfig(with_(without(smollm2, 'rope_theta'), { rope_parameters: { rope_type: 'default', rope_theta: 5e5 } }));
    expect(plain.rope).toEqual({ theta: 5e5, scaling: undefined, partialRotaryFactor: 1 });
    const dynamic = parseModelConfig(with_(smollm2, { rope_scaling: { rope_type: 'dynamic', factor: 2 } }));
    expect(dynamic.rope.scaling).toEqual({ type: 'dynamic', factor: 2, originalMaxPositionEmbeddings: 8192 });
  });

  it('partial_rotary_factor', () => {
    expect(parseModelConfig(with_(smollm2, { partial_rotary_factor: 0.5 })).rope.partialRotaryFactor).toBe(0.5);
  });
});

describe('parseModelConfig: what it refuses, and says why', () => {
  const cases: Array<[string, unknown, string]> = [
    ['not an object', [1, 2], 'config.json: not a JSON object'],
    ['no model_type', without(smollm2, 'model_type'), 'config.json: missing field "model_type" (supported: llama, mistral, qwen2, qwen3, phi3, smollm3, gemma2, gemma3_text)'],
    ['unknown model_type', with_(smollm2, { model_type: 'falcon' }), 'config.json: model_type "falcon" is not supported (supported: llama, mistral, qwen2, qwen3, phi3, smollm3, gemma2, gemma3_text)'],
    ['multimodal Gemma 3', with_(smollm2, { model_type: 'gemma3' }), 'config.json: model_type "gemma3" is not supported: it is the multimodal Gemma 3'],
    ['missing hidden_size', without(smollm2, 'hidden_size'), 'config.json: missing field "hidden_size"'],
    ['missing vocab_size', with_(smollm2, { vocab_size: null }), 'config.json: missing field "vocab_size"'],
    ['missing rms_norm_eps', without(smollm2, 'rms_norm_eps'), 'config.json: missing field "rms_norm_eps"'],
    ['missing rope_theta', without(smollm2, 'rope_theta'), 'config.json: missing field "rope_theta" (or "rope_parameters.rope_theta")'],
    ['a string for a number', with_(smollm2, { num_hidden_layers: '30' }), 'config.json: field "num_hidden_layers" must be a number, got "30"'],
    ['a fractional head count', with_(smollm2, { num_attention_heads: 9.5 }), 'config.json: field "num_attention_heads" must be a positive integer, got 9.5'],
    ['heads not a multiple of kv heads', with_(smollm2, { num_key_value_heads: 4 }), 'config.json: num_attention_heads (9) is not a multiple of num_key_value_heads (4)'],
    ['relu', with_(smollm2, { hidden_act: 'relu' }), 'config.json: hidden_act "relu" is not supported (supported: silu, gelu_pytorch_tanh)'],
    ['mlp_bias', with_(smollm2, { mlp_bias: true }), 'config.json: mlp_bias: true is not supported'],
    ['layer types of the wrong count', with_(qwen25, { layer_types: ['full_attention', 'sliding_attention'] }), 'config.json: layer_types has 2 entries for 24 layers'],
    ['longrope with too few factors', with_(smollm2, { rope_scaling: { type: 'longrope', short_factor: [1], long_factor: [2] }, original_max_position_embeddings: 4096 }), 'config.json: rope_scaling.short_factor must be 32 positive numbers (one per rotated dimension pair), got [1]'],
    ['an unknown rope type', with_(smollm2, { rope_scaling: { type: 'ntk-by-parts', factor: 2 } }), 'config.json: rope_scaling.rope_type "ntk-by-parts" is not supported (supported: default, linear, llama3, dynamic, yarn, longrope, su)'],
    ['llama3 scaling without its fields', with_(smollm2, { rope_scaling: { rope_type: 'llama3', factor: 8 } }), 'config.json: missing field "rope_scaling.low_freq_factor"'],
    ['an odd head size', with_(smollm2, { head_dim: 63 }), 'config.json: head_dim 63 is odd: RoPE needs an even head size'],
    // Found by test/unit/parsers.property.test.ts.
    ['a model_type that is no string', with_(smollm2, { model_type: { name: 'llama' } }), 'config.json: model_type {"name":"llama"} is not supported (supported: llama, mistral, qwen2, qwen3, phi3, smollm3, gemma2, gemma3_text)'],
    ['a zero epsilon', with_(smollm2, { rms_norm_eps: 0 }), 'config.json: field "rms_norm_eps" must be greater than 0, got 0'],
    ['a negative RoPE base', with_(smollm2, { rope_theta: -10000 }), 'config.json: field "rope_theta" must be greater than 0, got -10000'],
    ['a zero scaling factor', with_(smollm2, { rope_scaling: { rope_type: 'linear', factor: 0 } }), 'config.json: field "rope_scaling.factor" must be greater than 0, got 0'],
    ['a size past 2^53', with_(smollm2, { hidden_size: 2 ** 60 }), `config.json: field "hidden_size" must be a positive integer, got ${2 ** 60}`],
    ['an eos id past 2^53', with_(smollm2, { eos_token_id: 1e300 }), 'config.json: field "eos_token_id" must be a token id or a list of them, got 1e+300'],
  ];
  for (const [what, json, message] of cases) {
    it(what, () => {
      expect(() => parseModelConfig(json)).toThrow(ModelConfigError);
      expect(() => parseModelConfig(json)).toThrow(message);
    });
  }
});
