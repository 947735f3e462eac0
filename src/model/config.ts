// Hugging Face config.json → the few numbers the engine needs, for the architectures Star Reader runs.
// Hub configs come from several transformers versions: rope settings may be legacy `rope_theta` +
// `rope_scaling` (with `type` or `rope_type`) or the newer `rope_parameters`; both are read here.
import type { RopeScaling } from './rope-frequencies.ts';
import { parseFamily, type FamilyConfig } from './families.ts';

export const supportedModelTypes = ['llama', 'mistral', 'qwen2', 'qwen3', 'phi3', 'smollm3', 'gemma2', 'gemma3_text'] as const;
export type ModelType = (typeof supportedModelTypes)[number];

/** Hub model types that are close to a supported one but are not it, with what to do instead. */
const unsupportedRelatives: Record<string, string> = {
  gemma3: 'the multimodal Gemma 3 (a vision tower and language_model.* weights); Gemma 3 1B, or a text-only gemma3_text conversion, is supported',
  gemma: 'Gemma 1; Gemma 2 (gemma2) and Gemma 3 (gemma3_text) are supported',
  phi3small: 'Phi-3-small (block-sparse attention); Phi-3/3.5-mini and Phi-4-mini (phi3) are supported',
  phimoe: 'Phi-3.5-MoE; Phi-3/3.5-mini and Phi-4-mini (phi3) are supported',
};

// 'su' is longrope's older name in Phi-3 configs.
const supportedRopeTypes = ['default', 'linear', 'llama3', 'dynamic', 'yarn', 'longrope', 'su'] as const;

export interface RopeConfig {
  theta: number;
  /** undefined: plain RoPE (rope type "default"). */
  scaling: RopeScaling | undefined;
  /** Fraction of each head's dimensions that are rotated (Phi-4-mini: 0.75). */
  partialRotaryFactor: number;
}

export interface ModelConfig {
  modelType: ModelType;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  rmsNormEps: number;
  rope: RopeConfig;
  tieWordEmbeddings: boolean;
  /** q_proj, k_proj and v_proj have biases. */
  attentionBias: boolean;
  /** o_proj has a bias (Llama and Qwen3 with attention_bias; never Qwen2). */
  attentionOutputBias: boolean;
  /** Per-head RMSNorm of q and k before RoPE (Qwen3, Gemma 3). */
  qkNorm: boolean;
  /** Per-layer attention and the family's conventions (families.ts). */
  family: FamilyConfig;
  maxPositionEmbeddings: number;
  bosTokenId: number | undefined;
  eosTokenIds: number[];
}

export class ModelConfigError extends Error {
  constructor(message: string) {
    super(`config.json: ${message}`);
    this.name = 'ModelConfigError';
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A present, non-null field (Hub configs often write `null` for "not set"). */
function has(obj: Json, key: string): boolean {
  return obj[key] !== undefined && obj[key] !== null;
}

function num(obj: Json, key: string, where = ''): number {
  const v = obj[key];
  if (v === undefined || v === null) throw new ModelConfigError(`missing field "${where}${key}"`);
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ModelConfigError(`field "${where}${key}" must be a number, got ${JSON.stringify(v)}`);
  }
  return v;
}

const maxLayers = 1024;

function positiveInt(obj: Json, key: string): number {
  const v = num(obj, key);
  // Safe integers only: sizes past 2^53 are no model, and would make every size computed from them inexact.
  if (!Number.isSafeInteger(v) || v <= 0) throw new ModelConfigError(`field "${key}" must be a positive integer, got ${v}`);
  return v;
}

/** A number > 0: epsilons, RoPE bases and scaling factors (0 or less would give NaN or Infinity on the GPU). */
function positive(obj: Json, key: string, where = ''): number {
  const v = num(obj, key, where);
  if (!(v > 0)) throw new ModelConfigError(`field "${where}${key}" must be greater than 0, got ${v}`);
  return v;
}

function optionalPositive(obj: Json, key: string, where = ''): number | undefined {
  return has(obj, key) ? positive(obj, key, where) : undefined;
}

function optionalNum(obj: Json, key: string, where = ''): number | undefined {
  return has(obj, key) ? num(obj, key, where) : undefined;
}

function bool(obj: Json, key: string, fallback: boolean): boolean {
  if (!has(obj, key)) return fallback;
  const v = obj[key];
  if (typeof v !== 'boolean') throw new ModelConfigError(`field "${key}" must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function tokenIds(obj: Json, key: string): number[] {
  if (!has(obj, key)) return [];
  const v = obj[key];
  const ids = Array.isArray(v) ? v : [v];
  if (!ids.every((id) => Number.isSafeInteger(id) && id >= 0)) {
    throw new ModelConfigError(`field "${key}" must be a token id or a list of them, got ${JSON.stringify(v)}`);
  }
  return ids as number[];
}

export function parseModelConfig(json: unknown): ModelConfig {
  if (!isObject(json)) throw new ModelConfigError('not a JSON object');
  const modelType = json.model_type;
  if (!has(json, 'model_type')) {
    throw new ModelConfigError(`missing field "model_type" (supported: ${supportedModelTypes.join(', ')})`);
  }
  if (typeof modelType === 'string' && Object.hasOwn(unsupportedRelatives, modelType)) {
    throw new ModelConfigError(`model_type "${modelType}" is not supported: it is ${unsupportedRelatives[modelType]}`);
  }
  if (!(supportedModelTypes as readonly unknown[]).includes(modelType)) {
    throw new ModelConfigError(
      `model_type ${JSON.stringify(modelType)} is not supported (supported: ${supportedModelTypes.join(', ')})`,
    );
  }
  const type = modelType as ModelType;

  const hidden = positiveInt(json, 'hidden_size');
  const layers = positiveInt(json, 'num_hidden_layers');
  // Per-layer settings (sliding or full, NoPE) are lists of this length: a garbled count must not
  // allocate without bound. The deepest open models have about 130 layers.
  if (layers > maxLayers) throw new ModelConfigError(`num_hidden_layers is ${layers}; more than ${maxLayers} layers is no model this reader can run`);
  const heads = positiveInt(json, 'num_attention_heads');
  // transformers: a missing num_key_value_heads means multi-head attention.
  const kvHeads = has(json, 'num_key_value_heads') ? positiveInt(json, 'num_key_value_heads') : heads;
  if (heads % kvHeads !== 0) {
    throw new ModelConfigError(`num_attention_heads (${heads}) is not a multiple of num_key_value_heads (${kvHeads})`);
  }
  let headDim: number;
  if (has(json, 'head_dim')) {
    headDim = positiveInt(json, 'head_dim');
  } else {
    if (hidden % heads !== 0) {
      throw new ModelConfigError(`no "head_dim" and hidden_size (${hidden}) is not a multiple of num_attention_heads (${heads})`);
    }
    headDim = hidden / heads;
  }
  if (headDim % 2 !== 0) throw new ModelConfigError(`head_dim ${headDim} is odd: RoPE needs an even head size`);

  if (bool(json, 'mlp_bias', false)) throw new ModelConfigError('mlp_bias: true is not supported');

  const attentionBiasField = bool(json, 'attention_bias', false);
  if (type === 'phi3' && attentionBiasField) throw new ModelConfigError('attention_bias: true is not supported for phi3 (a fused qkv_proj bias)');
  const rope = parseRope(json, headDim);
  const family = parseFamily(json, { type, layers, headDim, hidden, rope }, {
    optionalNum,
    bool,
    error: (message) => new ModelConfigError(message),
  });
  return {
    modelType: type,
    hidden,
    layers,
    heads,
    kvHeads,
    headDim,
    intermediate: positiveInt(json, 'intermediate_size'),
    vocab: positiveInt(json, 'vocab_size'),
    rmsNormEps: positive(json, 'rms_norm_eps'),
    rope,
    tieWordEmbeddings: bool(json, 'tie_word_embeddings', false),
    attentionBias: type === 'qwen2' || attentionBiasField,
    attentionOutputBias: type !== 'qwen2' && attentionBiasField,
    qkNorm: type === 'qwen3' || type === 'gemma3_text',
    family,
    maxPositionEmbeddings: positiveInt(json, 'max_position_embeddings'),
    bosTokenId: tokenIds(json, 'bos_token_id')[0],
    eosTokenIds: tokenIds(json, 'eos_token_id'),
  };
}

function parseRope(json: Json, headDim: number): RopeConfig {
  // transformers ≥ 5 writes `rope_parameters` (rope_type, rope_theta and scaling fields together);
  // older configs have `rope_theta` and an optional `rope_scaling` whose type key is `type` or `rope_type`.
  let params: Json = {};
  let where = '';
  if (isObject(json.rope_parameters)) {
    params = json.rope_parameters;
    // Models with several attention kinds key the parameters by layer type.
    if (isObject(params.full_attention)) params = params.full_attention;
    where = 'rope_parameters.';
  } else if (isObject(json.rope_scaling)) {
    params = json.rope_scaling;
    where = 'rope_scaling.';
  }
  const theta =
    (where === 'rope_parameters.' ? optionalPositive(params, 'rope_theta', where) : undefined) ??
    optionalPositive(json, 'rope_theta') ??
    optionalPositive(params, 'rope_theta', where);
  if (theta === undefined) throw new ModelConfigError('missing field "rope_theta" (or "rope_parameters.rope_theta")');
  const partialRotaryFactor =
    optionalNum(json, 'partial_rotary_factor') ?? optionalNum(params, 'partial_rotary_factor', where) ?? 1;
  if (!(partialRotaryFactor > 0 && partialRotaryFactor <= 1) || (headDim * partialRotaryFactor) % 2 !== 0) {
    throw new ModelConfigError(`partial_rotary_factor ${partialRotaryFactor} does not give an even rotary size of head_dim ${headDim}`);
  }

  const ropeType = params.rope_type ?? params.type ?? 'default';
  if (!(supportedRopeTypes as readonly unknown[]).includes(ropeType)) {
    throw new ModelConfigError(
      `${where}rope_type ${JSON.stringify(ropeType)} is not supported (supported: ${supportedRopeTypes.join(', ')})`,
    );
  }
  const maxPositions = optionalNum(json, 'max_position_embeddings');
  // transformers reads original_max_position_embeddings from the rope parameters, or from the top
  // level where Phi-3 configs keep it.
  const originalMax = () => optionalNum(params, 'original_max_position_embeddings', where) ?? optionalNum(json, 'original_max_position_embeddings');
  const field = (key: string) => optionalNum(params, key, where);
  let scaling: RopeScaling | undefined;
  switch (ropeType as (typeof supportedRopeTypes)[number]) {
    case 'default':
      scaling = undefined;
      break;
    case 'linear':
      scaling = { type: 'linear', factor: positive(params, 'factor', where) };
      break;
    case 'llama3':
      scaling = {
        type: 'llama3',
        factor: positive(params, 'factor', where),
        lowFreqFactor: num(params, 'low_freq_factor', where),
        highFreqFactor: num(params, 'high_freq_factor', where),
        originalMaxPositionEmbeddings: num(params, 'original_max_position_embeddings', where),
      };
      break;
    case 'dynamic':
      scaling = {
        type: 'dynamic',
        factor: positive(params, 'factor', where),
        originalMaxPositionEmbeddings: field('original_max_position_embeddings') ?? maxPositions,
      };
      break;
    case 'yarn':
      scaling = {
        type: 'yarn',
        factor: positive(params, 'factor', where),
        originalMaxPositionEmbeddings: field('original_max_position_embeddings') ?? maxPositions,
        attentionFactor: field('attention_factor'),
        betaFast: field('beta_fast'),
        betaSlow: field('beta_slow'),
        mscale: field('mscale'),
        mscaleAllDim: field('mscale_all_dim'),
        truncate: typeof params.truncate === 'boolean' ? params.truncate : undefined,
      };
      break;
    case 'longrope':
    case 'su':
      scaling = longrope(params, where, headDim * partialRotaryFactor, maxPositions, originalMax());
      break;
  }
  return { theta, scaling, partialRotaryFactor };
}

function factorList(params: Json, key: string, where: string, count: number): number[] {
  const v = params[key];
  if (!Array.isArray(v) || v.length !== count || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
    throw new ModelConfigError(`${where}${key} must be ${count} positive numbers (one per rotated dimension pair), got ${JSON.stringify(v)}`);
  }
  return v as number[];
}

/** LongRoPE (Phi-3.5, Phi-4-mini). Its factor is max/original positions when both are known, as in transformers. */
function longrope(params: Json, where: string, rotaryDim: number, maxPositions: number | undefined, originalMax: number | undefined): RopeScaling {
  const factor = originalMax !== undefined && maxPositions !== undefined ? maxPositions / originalMax : optionalNum(params, 'factor', where);
  if (factor === undefined) throw new ModelConfigError(`${where}longrope needs original_max_position_embeddings or ${where}factor`);
  return {
    type: 'longrope',
    factor,
    originalMaxPositionEmbeddings: originalMax ?? maxPositions,
    attentionFactor: optionalNum(params, 'attention_factor', where),
    shortFactor: factorList(params, 'short_factor', where, rotaryDim / 2),
    longFactor: factorList(params, 'long_factor', where, rotaryDim / 2),
  };
}
