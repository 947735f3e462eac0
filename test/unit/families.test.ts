// config.json → the families' settings (src/model/families.ts) for the Hub models users load, trimmed,
// and LongRoPE's factor choice.
import { describe, expect, it } from 'vitest';
import { ModelConfigError, parseModelConfig } from '../../src/model/config.ts';
import { ropeInverseFrequencies } from '../../src/model/rope-frequencies.ts';

const factors = (n: number, value: number) => Array.from({ length: n }, (_, i) => value + i / 100);

const phi35mini: Record<string, unknown> = {
  architectures: ['Phi3ForCausalLM'],
  model_type: 'phi3',
  hidden_size: 3072,
  intermediate_size: 8192,
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 32,
  max_position_embeddings: 131072,
  original_max_position_embeddings: 4096,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  rope_scaling: { long_factor: factors(48, 1.5), short_factor: factors(48, 1), type: 'longrope' },
  sliding_window: 262144,
  tie_word_embeddings: false,
  hidden_act: 'silu',
  vocab_size: 32064,
  bos_token_id: 1,
  eos_token_id: 32000,
};
const phi4mini: Record<string, unknown> = {
  ...phi35mini,
  num_attention_heads: 24,
  num_key_value_heads: 8,
  partial_rotary_factor: 0.75,
  vocab_size: 200064,
  tie_word_embeddings: true,
};
const smollm3: Record<string, unknown> = {
  architectures: ['SmolLM3ForCausalLM'],
  model_type: 'smollm3',
  hidden_size: 2048,
  intermediate_size: 11008,
  num_attention_heads: 16,
  num_hidden_layers: 8,
  num_key_value_heads: 4,
  max_position_embeddings: 65536,
  rms_norm_eps: 1e-6,
  rope_theta: 5000000.0,
  no_rope_layers: [1, 1, 1, 0, 1, 1, 1, 0],
  no_rope_layer_interval: 4,
  use_sliding_window: false,
  sliding_window: null,
  tie_word_embeddings: true,
  vocab_size: 128256,
};
const gemma3_1b: Record<string, unknown> = {
  architectures: ['Gemma3ForCausalLM'],
  model_type: 'gemma3_text',
  hidden_size: 1152,
  intermediate_size: 6912,
  num_attention_heads: 4,
  num_hidden_layers: 7,
  num_key_value_heads: 1,
  head_dim: 256,
  max_position_embeddings: 32768,
  query_pre_attn_scalar: 256,
  rms_norm_eps: 1e-6,
  rope_local_base_freq: 10000,
  rope_scaling: null,
  rope_theta: 1000000,
  sliding_window: 512,
  sliding_window_pattern: 6,
  final_logit_softcapping: null,
  attn_logit_softcapping: null,
  hidden_activation: 'gelu_pytorch_tanh',
  vocab_size: 262144,
};
const gemma2_2b: Record<string, unknown> = {
  architectures: ['Gemma2ForCausalLM'],
  model_type: 'gemma2',
  hidden_size: 2304,
  intermediate_size: 9216,
  num_attention_heads: 8,
  num_hidden_layers: 4,
  num_key_value_heads: 4,
  head_dim: 256,
  max_position_embeddings: 8192,
  query_pre_attn_scalar: 256,
  rms_norm_eps: 1e-6,
  rope_theta: 10000.0,
  sliding_window: 4096,
  attn_logit_softcapping: 50.0,
  final_logit_softcapping: 30.0,
  hidden_act: 'gelu_pytorch_tanh',
  hidden_activation: 'gelu_pytorch_tanh',
  vocab_size: 256000,
};
const mistral01: Record<string, unknown> = {
  model_type: 'mistral',
  hidden_size: 4096,
  intermediate_size: 14336,
  num_attention_heads: 32,
  num_hidden_layers: 3,
  num_key_value_heads: 8,
  max_position_embeddings: 32768,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  sliding_window: 4096,
  vocab_size: 32000,
};
const qwen25: Record<string, unknown> = {
  model_type: 'qwen2',
  hidden_size: 896,
  intermediate_size: 4864,
  num_attention_heads: 14,
  num_hidden_layers: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 32768,
  max_window_layers: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  use_sliding_window: false,
  vocab_size: 151936,
};
const with_ = (base: Record<string, unknown>, changes: Record<string, unknown>) => ({ ...base, ...changes });

describe('families: Phi-3.5-mini and Phi-4-mini (phi3)', () => {
  it('fused projections, a window on every layer, LongRoPE with factor max/original', () => {
    const c = parseModelConfig(phi35mini);
    expect(c.family.fusedProjections).toBe(true);
    expect(c.family.layers.every((l) => l.window === 262144 && l.rope === c.rope)).toBe(true);
    expect(c.rope.scaling).toMatchObject({ type: 'longrope', factor: 32, originalMaxPositionEmbeddings: 4096, attentionFactor: undefined });
    expect([c.family.normWeightOffset, c.family.activation, c.family.attentionScale]).toEqual([0, 'silu', 1 / Math.sqrt(96)]);
  });

  it('Phi-4-mini: partial rotary 0.75 of head_dim 128 takes 48 factors; "su" is longrope', () => {
    const c = parseModelConfig(with_(phi4mini, { rope_scaling: { ...(phi35mini.rope_scaling as object), type: 'su' } }));
    expect([c.headDim, c.kvHeads, c.rope.partialRotaryFactor, c.rope.scaling?.type]).toEqual([128, 8, 0.75, 'longrope']);
  });

  it('LongRoPE: short factors for a conversation within the original length, long ones past it, and √(1 + ln 32 / ln 4096) scaling', () => {
    const { rope, headDim } = parseModelConfig(phi35mini);
    const at = (length: number) => ropeInverseFrequencies(headDim, rope.theta, rope.scaling, 1, length);
    const plain = ropeInverseFrequencies(headDim, rope.theta).invFreq;
    const short = at(4096);
    const long = at(4097);
    expect(short.invFreq[5]).toBe(Math.fround(1 / Math.fround(Math.fround(1.05) * Math.fround(1 / plain[5]))));
    expect(long.invFreq[5]).toBe(Math.fround(1 / Math.fround(Math.fround(1.55) * Math.fround(1 / plain[5]))));
    expect(short.attentionScaling).toBe(long.attentionScaling);
    expect(long.attentionScaling).toBeCloseTo(Math.sqrt(1 + Math.log(32) / Math.log(4096)), 15);
  });

  it('refuses a fused qkv bias and factor lists of the wrong length', () => {
    expect(() => parseModelConfig(with_(phi35mini, { attention_bias: true }))).toThrow('attention_bias: true is not supported for phi3');
    const short = with_(phi35mini, { rope_scaling: { ...(phi35mini.rope_scaling as object), long_factor: factors(47, 1) } });
    expect(() => parseModelConfig(short)).toThrow('rope_scaling.long_factor must be 48 positive numbers');
  });
});

describe('families: SmolLM3', () => {
  it('no_rope_layers: 0 is a NoPE layer', () => {
    const c = parseModelConfig(smollm3);
    expect(c.family.layers.map((l) => l.rope === undefined)).toEqual([false, false, false, true, false, false, false, true]);
    expect(c.family.layers.every((l) => l.window === undefined)).toBe(true);
  });

  it('without no_rope_layers, every no_rope_layer_interval-th layer; use_sliding_window windows the NoPE layers', () => {
    const c = parseModelConfig(with_(smollm3, { no_rope_layers: undefined, no_rope_layer_interval: 2, use_sliding_window: true, sliding_window: 4096 }));
    expect(c.family.layers.map((l) => [l.rope === undefined, l.window])).toEqual([
      [false, undefined], [true, 4096], [false, undefined], [true, 4096],
      [false, undefined], [true, 4096], [false, undefined], [true, 4096],
    ]);
  });

  it('refuses a malformed no_rope_layers', () => {
    expect(() => parseModelConfig(with_(smollm3, { no_rope_layers: [1, 0] }))).toThrow('no_rope_layers must be 8 entries of 0 or 1, got [1,0]');
  });
});

describe('families: Gemma 3 and Gemma 2', () => {
  it('Gemma 3 1B: every 6th layer full with rope_theta, the others sliding (512) with rope_local_base_freq', () => {
    const c = parseModelConfig(gemma3_1b);
    const f = c.family;
    expect(f.layers.map((l) => [l.window, l.rope?.theta])).toEqual([
      [512, 10000], [512, 10000], [512, 10000], [512, 10000], [512, 10000], [undefined, 1e6], [512, 10000],
    ]);
    expect([f.normWeightOffset, f.sandwichNorms, f.activation, c.qkNorm]).toEqual([1, true, 'gelu_tanh', true]);
    expect([f.embeddingScale, f.attentionScale, f.attentionSoftcap, f.finalLogitSoftcap]).toEqual([Math.fround(Math.sqrt(1152)), 1 / 16, undefined, undefined]);
  });

  it('Gemma 3 in transformers 5 style: layer_types and rope_parameters per layer type', () => {
    const c = parseModelConfig(
      with_(gemma3_1b, {
        rope_theta: undefined,
        rope_local_base_freq: undefined,
        layer_types: ['sliding_attention', 'full_attention', 'sliding_attention', 'sliding_attention', 'sliding_attention', 'sliding_attention', 'full_attention'],
        rope_parameters: {
          full_attention: { rope_type: 'linear', factor: 8, rope_theta: 1e6 },
          sliding_attention: { rope_type: 'default', rope_theta: 10000 },
        },
      }),
    );
    expect(c.family.layers[1].rope).toEqual({ theta: 1e6, scaling: { type: 'linear', factor: 8 }, partialRotaryFactor: 1 });
    expect(c.family.layers[0].rope).toEqual({ theta: 10000, scaling: undefined, partialRotaryFactor: 1 });
  });

  it('Gemma 2 2B: even layers sliding, soft-capping of scores (50) and logits (30), no q/k norms', () => {
    const c = parseModelConfig(gemma2_2b);
    expect(c.family.layers.map((l) => l.window)).toEqual([4096, undefined, 4096, undefined]);
    expect(c.family.layers.every((l) => l.rope === c.rope)).toBe(true);
    expect([c.family.attentionSoftcap, c.family.finalLogitSoftcap, c.qkNorm, c.family.embeddingScale]).toEqual([50, 30, false, Math.fround(48)]);
  });

  it('refuses what it cannot run, with the reason', () => {
    expect(() => parseModelConfig(with_(gemma2_2b, { hidden_activation: 'gelu' }))).toThrow('hidden_activation "gelu" is not supported (supported: silu, gelu_pytorch_tanh)');
    expect(() => parseModelConfig(with_(gemma2_2b, { attn_logit_softcapping: 0 }))).toThrow('field "attn_logit_softcapping" must be a positive number or null, got 0');
    expect(() => parseModelConfig(with_(gemma2_2b, { sliding_window: null }))).toThrow('sliding layers need "sliding_window", a positive integer, got null');
    expect(() => parseModelConfig(with_(gemma2_2b, { layer_types: ['sliding_attention', 'chunked_attention', 'full_attention', 'full_attention'] }))).toThrow(
      'layer_types[1] "chunked_attention" is not supported (supported: full_attention, sliding_attention)',
    );
    expect(() => parseModelConfig(with_(gemma2_2b, { model_type: 'gemma3' }))).toThrow(ModelConfigError);
  });
});

describe('families: sliding windows of the Llama-style families', () => {
  it('Mistral 7B v0.1 windows every layer; sliding_window null is full attention', () => {
    expect(parseModelConfig(mistral01).family.layers.map((l) => l.window)).toEqual([4096, 4096, 4096]);
    expect(parseModelConfig(with_(mistral01, { sliding_window: null })).family.layers.map((l) => l.window)).toEqual([undefined, undefined, undefined]);
  });

  it('Qwen2.5: use_sliding_window windows the layers from max_window_layers on; off by default', () => {
    expect(parseModelConfig(with_(qwen25, { use_sliding_window: true })).family.layers.map((l) => l.window)).toEqual([undefined, undefined, 32768, 32768]);
    expect(parseModelConfig(qwen25).family.layers.map((l) => l.window)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('Llama: the plain recipe', () => {
    const f = parseModelConfig(with_(mistral01, { model_type: 'llama', sliding_window: undefined })).family;
    expect([f.normWeightOffset, f.sandwichNorms, f.activation, f.embeddingScale, f.attentionScale, f.fusedProjections]).toEqual([0, false, 'silu', 1, 1 / Math.sqrt(128), false]);
  });
});
