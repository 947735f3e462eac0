// A model with random weights and a real model's layer shapes, as the files of a Hub-layout folder (no
// tokenizer: the benchmarks feed token ids). What the benchmarks run when no model is given, in Node
// (written to a temporary folder) and in a browser page (File objects in memory).
import { encodeSafetensors, type TensorToWrite } from './safetensors-writer.ts';

export interface SyntheticShape {
  name: string;
  modelType: 'qwen2' | 'llama';
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  maxPositions: number;
}

/** Qwen2.5-0.5B's attention layout (14 query heads, 2 KV heads, head dim 64, hidden 896), fewer layers and a smaller MLP and vocabulary. */
export const qwen25HalfBLayout: SyntheticShape = {
  name: 'synthetic (Qwen2.5-0.5B heads)',
  modelType: 'qwen2',
  hidden: 896,
  intermediate: 1024,
  layers: 2,
  heads: 14,
  kvHeads: 2,
  headDim: 64,
  vocab: 4096,
  maxPositions: 32768,
};

/**
 * Seeded uniform floats (xorshift32): each call returns the stream's next n values in
 * [offset − scale, offset + scale). The same seed gives the same values everywhere (Node and browser).
 */
export function uniformStream(seed: number): (n: number, scale: number, offset?: number) => Float32Array {
  let state = seed >>> 0 || 1;
  return (n, scale, offset = 0) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      a[i] = offset + ((state >>> 0) / 4294967296 - 0.5) * 2 * scale;
    }
    return a;
  };
}

/** config.json and model.safetensors, by file name; the same seed gives the same bytes. */
export function syntheticModelFiles(shape: SyntheticShape, seed = 1): Map<string, Uint8Array> {
  const config = {
    architectures: [shape.modelType === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'],
    model_type: shape.modelType,
    hidden_size: shape.hidden,
    intermediate_size: shape.intermediate,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    num_key_value_heads: shape.kvHeads,
    head_dim: shape.headDim,
    vocab_size: shape.vocab,
    max_position_embeddings: shape.maxPositions,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    hidden_act: 'silu',
    tie_word_embeddings: true,
    bos_token_id: 1,
    eos_token_id: 2,
  };
  const random = uniformStream(seed);
  const tensors: Record<string, TensorToWrite> = {};
  const matrix = (name: string, outs: number, ins: number) => {
    tensors[name] = { dtype: 'F32', shape: [outs, ins], data: random(outs * ins, 1 / Math.sqrt(ins)) };
  };
  const vector = (name: string, n: number, scale: number, offset = 0) => {
    tensors[name] = { dtype: 'F32', shape: [n], data: random(n, scale, offset) };
  };
  const q = shape.heads * shape.headDim;
  const kv = shape.kvHeads * shape.headDim;
  matrix('model.embed_tokens.weight', shape.vocab, shape.hidden);
  for (let l = 0; l < shape.layers; l++) {
    const p = `model.layers.${l}`;
    vector(`${p}.input_layernorm.weight`, shape.hidden, 0.1, 1);
    matrix(`${p}.self_attn.q_proj.weight`, q, shape.hidden);
    matrix(`${p}.self_attn.k_proj.weight`, kv, shape.hidden);
    matrix(`${p}.self_attn.v_proj.weight`, kv, shape.hidden);
    if (shape.modelType === 'qwen2') {
      vector(`${p}.self_attn.q_proj.bias`, q, 0.1);
      vector(`${p}.self_attn.k_proj.bias`, kv, 0.1);
      vector(`${p}.self_attn.v_proj.bias`, kv, 0.1);
    }
    matrix(`${p}.self_attn.o_proj.weight`, shape.hidden, q);
    vector(`${p}.post_attention_layernorm.weight`, shape.hidden, 0.1, 1);
    matrix(`${p}.mlp.gate_proj.weight`, shape.intermediate, shape.hidden);
    matrix(`${p}.mlp.up_proj.weight`, shape.intermediate, shape.hidden);
    matrix(`${p}.mlp.down_proj.weight`, shape.hidden, shape.intermediate);
  }
  vector('model.norm.weight', shape.hidden, 0.1, 1);
  return new Map([
    ['config.json', new TextEncoder().encode(JSON.stringify(config, null, 2))],
    ['model.safetensors', encodeSafetensors(tensors)],
  ]);
}
