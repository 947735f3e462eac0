// What differs between the model families beyond Llama's plain recipe, read from config.json once:
// per-layer attention (RoPE or none, its base, a sliding window), norm conventions, the MLP's
// activation, score and logit soft-capping, the embedding scale, and where each projection's weights
// are stored (Phi-3 fuses q/k/v and gate/up into one tensor each).
//
//   llama, mistral, qwen2, qwen3  the plain recipe (Mistral v0.1 and Qwen with use_sliding_window: windows)
//   phi3        fused qkv_proj and gate_up_proj, partial rotary, LongRoPE; sliding_window on every layer
//   smollm3     NoPE layers (no_rope_layers[i] = 0: no rotary embedding at layer i)
//   gemma2      (1 + w) RMSNorm, norms before and after attention and MLP, GELU (tanh), embeddings
//               × √hidden, scores scaled by query_pre_attn_scalar^-½, soft-capped scores and logits,
//               sliding and full layers
//   gemma3_text gemma2's recipe with q/k norms, no soft-capping by default, and the sliding layers'
//               own RoPE base (rope_local_base_freq)
import type { ModelConfigError, ModelType, RopeConfig } from './config.ts';

export type Activation = 'silu' | 'gelu_tanh';

export interface LayerAttention {
  /** undefined: a NoPE layer (SmolLM3), whose q and k are not rotated. */
  rope: RopeConfig | undefined;
  /** Keys visible to a query only when key position > query position − window; undefined: all. */
  window: number | undefined;
}

export interface FamilyConfig {
  /** One entry per layer. */
  layers: LayerAttention[];
  /** Gemma: norms scale by (1 + w) rather than w. */
  normWeightOffset: 0 | 1;
  /** Gemma: a norm after attention and after the MLP too, before each residual add. */
  sandwichNorms: boolean;
  activation: Activation;
  /** The embedding is multiplied by this (Gemma: √hidden, rounded to f32). */
  embeddingScale: number;
  /** Scores are q·k times this: 1/√head_dim, Gemma's query_pre_attn_scalar^-½. */
  attentionScale: number;
  /** score → cap·tanh(score / cap) before masking (Gemma 2); undefined: none. */
  attentionSoftcap: number | undefined;
  /** logits → cap·tanh(logits / cap) (Gemma 2); undefined: none. */
  finalLogitSoftcap: number | undefined;
  /** Phi-3: q/k/v stored as one qkv_proj, gate/up as one gate_up_proj. */
  fusedProjections: boolean;
}

type Json = Record<string, unknown>;

/** The helpers of config.ts that families need: number fields with config.json's error messages. */
export interface FieldReader {
  optionalNum(obj: Json, key: string, where?: string): number | undefined;
  bool(obj: Json, key: string, fallback: boolean): boolean;
  error(message: string): ModelConfigError;
}

interface CommonFields {
  type: ModelType;
  layers: number;
  headDim: number;
  hidden: number;
  /** The RoPE of full-attention layers (config.ts parseRope). */
  rope: RopeConfig;
}

const gemmaTypes: readonly ModelType[] = ['gemma2', 'gemma3_text'];

export function parseFamily(json: Json, common: CommonFields, read: FieldReader): FamilyConfig {
  const { type, headDim } = common;
  const gemma = gemmaTypes.includes(type);
  const queryPreAttnScalar = read.optionalNum(json, 'query_pre_attn_scalar');
  return {
    layers: layerAttention(json, common, read),
    normWeightOffset: gemma ? 1 : 0,
    sandwichNorms: gemma,
    activation: activation(json, type, read),
    embeddingScale: gemma ? Math.fround(Math.sqrt(common.hidden)) : 1,
    attentionScale: gemma && queryPreAttnScalar !== undefined ? queryPreAttnScalar ** -0.5 : 1 / Math.sqrt(headDim),
    attentionSoftcap: gemma ? positiveOrNone(json, 'attn_logit_softcapping', read) : undefined,
    finalLogitSoftcap: gemma ? positiveOrNone(json, 'final_logit_softcapping', read) : undefined,
    fusedProjections: type === 'phi3',
  };
}

function positiveOrNone(json: Json, key: string, read: FieldReader): number | undefined {
  const v = read.optionalNum(json, key);
  if (v !== undefined && !(v > 0)) throw read.error(`field "${key}" must be a positive number or null, got ${v}`);
  return v;
}

function activation(json: Json, type: ModelType, read: FieldReader): Activation {
  // Gemma configs name it hidden_activation (hidden_act is a legacy alias there).
  const key = gemmaTypes.includes(type) && json.hidden_activation !== undefined && json.hidden_activation !== null ? 'hidden_activation' : 'hidden_act';
  const name = json[key] ?? (gemmaTypes.includes(type) ? 'gelu_pytorch_tanh' : 'silu');
  if (name === 'silu') return 'silu';
  if (name === 'gelu_pytorch_tanh') return 'gelu_tanh';
  throw read.error(`${key} ${JSON.stringify(name)} is not supported (supported: silu, gelu_pytorch_tanh)`);
}

/** Per layer: full or sliding attention, as transformers decides it for each family. */
function layerKinds(json: Json, common: CommonFields, read: FieldReader, noRope: boolean[]): ('full' | 'sliding')[] {
  const { type, layers } = common;
  const listed = json.layer_types;
  if (Array.isArray(listed)) {
    if (listed.length !== layers) throw read.error(`layer_types has ${listed.length} entries for ${layers} layers`);
    return listed.map((t, i) => {
      if (t === 'full_attention') return 'full';
      if (t === 'sliding_attention') return 'sliding';
      throw read.error(`layer_types[${i}] ${JSON.stringify(t)} is not supported (supported: full_attention, sliding_attention)`);
    });
  }
  const all = (kind: 'full' | 'sliding') => Array.from({ length: layers }, () => kind);
  const hasWindow = json.sliding_window !== undefined && json.sliding_window !== null;
  switch (type) {
    case 'mistral':
    case 'phi3':
      // Every layer is windowed when the config gives a window (Mistral v0.1: 4096; Phi-3-mini-4k: 2047).
      return all(hasWindow ? 'sliding' : 'full');
    case 'qwen2':
    case 'qwen3': {
      // Qwen: layers from max_window_layers on are windowed, and only with use_sliding_window.
      if (!read.bool(json, 'use_sliding_window', false) || !hasWindow) return all('full');
      const from = read.optionalNum(json, 'max_window_layers') ?? layers;
      return Array.from({ length: layers }, (_, i) => (i >= from ? 'sliding' : 'full'));
    }
    case 'smollm3':
      // SmolLM3 windows its NoPE layers when use_sliding_window is set.
      if (!read.bool(json, 'use_sliding_window', false) || !hasWindow) return all('full');
      return noRope.map((none) => (none ? 'sliding' : 'full'));
    case 'gemma2':
      // Older Gemma 2 configs have no layer_types: even layers are the sliding ones.
      return Array.from({ length: layers }, (_, i) => (i % 2 === 0 ? 'sliding' : 'full'));
    case 'gemma3_text': {
      // Older Gemma 3 configs: every sliding_window_pattern-th layer is full, the others sliding.
      const pattern = read.optionalNum(json, 'sliding_window_pattern') ?? 6;
      return Array.from({ length: layers }, (_, i) => ((i + 1) % pattern === 0 ? 'full' : 'sliding'));
    }
    case 'llama':
      return all('full');
  }
}

/** SmolLM3: which layers have no rotary embedding (no_rope_layers[i] = 0, or every interval-th layer). */
function noRopeLayers(json: Json, common: CommonFields, read: FieldReader): boolean[] {
  const { type, layers } = common;
  if (type !== 'smollm3') return Array.from({ length: layers }, () => false);
  const listed = json.no_rope_layers;
  if (Array.isArray(listed)) {
    if (listed.length !== layers || !listed.every((v) => v === 0 || v === 1)) {
      throw read.error(`no_rope_layers must be ${layers} entries of 0 or 1, got ${JSON.stringify(listed)}`);
    }
    return listed.map((v) => v === 0);
  }
  const interval = read.optionalNum(json, 'no_rope_layer_interval') ?? 4;
  return Array.from({ length: layers }, (_, i) => (i + 1) % interval === 0);
}

function layerAttention(json: Json, common: CommonFields, read: FieldReader): LayerAttention[] {
  const noRope = noRopeLayers(json, common, read);
  const kinds = layerKinds(json, common, read, noRope);
  const window = kinds.includes('sliding') ? slidingWindow(json, read) : undefined;
  const localRope = slidingRope(json, common, read);
  return kinds.map((kind, i) => ({
    rope: noRope[i] ? undefined : kind === 'sliding' ? localRope : common.rope,
    window: kind === 'sliding' ? window : undefined,
  }));
}

function slidingWindow(json: Json, read: FieldReader): number {
  const window = read.optionalNum(json, 'sliding_window');
  if (window === undefined || !Number.isInteger(window) || window <= 0) {
    throw read.error(`sliding layers need "sliding_window", a positive integer, got ${JSON.stringify(json.sliding_window)}`);
  }
  return window;
}

/** Gemma 3's sliding layers rotate with their own base and no scaling; everyone else's with the full layers' RoPE. */
function slidingRope(json: Json, common: CommonFields, read: FieldReader): RopeConfig {
  if (common.type !== 'gemma3_text') return common.rope;
  const params = json.rope_parameters;
  const perType = typeof params === 'object' && params !== null ? (params as Json).sliding_attention : undefined;
  const theta =
    (typeof perType === 'object' && perType !== null ? read.optionalNum(perType as Json, 'rope_theta', 'rope_parameters.sliding_attention.') : undefined) ??
    read.optionalNum(json, 'rope_local_base_freq') ??
    10000; // transformers' Gemma3TextConfig default
  return { theta, scaling: undefined, partialRotaryFactor: 1 };
}

/** Where one projection's weight is stored: rows [firstRow, firstRow + rows) of `tensor`. */
export interface ProjectionRows {
  tensor: string;
  firstRow: number;
  rows: number;
}

export interface ProjectionSources {
  q: ProjectionRows;
  k: ProjectionRows;
  v: ProjectionRows;
  gate: ProjectionRows;
  up: ProjectionRows;
}

export interface ProjectionShape {
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  family: Pick<FamilyConfig, 'fusedProjections'>;
}

/**
 * The stored rows of layer `layer`'s q, k, v, gate and up projections: whole tensors, or row ranges of
 * Phi-3's fused ones. loadWeights stores them as every family's are (one matrix [Wq; Wk; Wv] where it
 * can, src/model/weights.ts), so the rest of the layer is the same for every family, and a row range
 * of a stored tensor costs nothing to read.
 */
export function projectionSources(shape: ProjectionShape, layer: number): ProjectionSources {
  const p = `model.layers.${layer}.`;
  const q = shape.heads * shape.headDim;
  const kv = shape.kvHeads * shape.headDim;
  const n = shape.intermediate;
  if (!shape.family.fusedProjections) {
    const whole = (tensor: string, rows: number): ProjectionRows => ({ tensor: `${p}${tensor}.weight`, firstRow: 0, rows });
    return {
      q: whole('self_attn.q_proj', q),
      k: whole('self_attn.k_proj', kv),
      v: whole('self_attn.v_proj', kv),
      gate: whole('mlp.gate_proj', n),
      up: whole('mlp.up_proj', n),
    };
  }
  // Phi3Attention: qkv_proj rows are q, then k, then v. Phi3MLP: gate_up_proj.chunk(2) is (gate, up).
  const qkv = `${p}self_attn.qkv_proj.weight`;
  const gateUp = `${p}mlp.gate_up_proj.weight`;
  return {
    q: { tensor: qkv, firstRow: 0, rows: q },
    k: { tensor: qkv, firstRow: q, rows: kv },
    v: { tensor: qkv, firstRow: q + kv, rows: kv },
    gate: { tensor: gateUp, firstRow: 0, rows: n },
    up: { tensor: gateUp, firstRow: n, rows: n },
  };
}

/** Hugging Face names of a layer's norms: before attention, after it (Gemma), before the MLP, after it (Gemma). */
export function layerNormNames(family: Pick<FamilyConfig, 'sandwichNorms'>, layer: number) {
  const p = `model.layers.${layer}.`;
  if (!family.sandwichNorms) {
    return { input: `${p}input_layernorm.weight`, attentionOutput: undefined, mlpInput: `${p}post_attention_layernorm.weight`, mlpOutput: undefined };
  }
  return {
    input: `${p}input_layernorm.weight`,
    attentionOutput: `${p}post_attention_layernorm.weight`,
    mlpInput: `${p}pre_feedforward_layernorm.weight`,
    mlpOutput: `${p}post_feedforward_layernorm.weight`,
  };
}
