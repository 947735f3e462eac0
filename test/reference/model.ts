// Plain-TypeScript reference of the decoder (Llama, Mistral, Qwen2, Qwen3, Phi-3, SmolLM3, Gemma 2 and
// 3), one token at a time in the style of llama2.c's run.c: read it top to bottom. Weights are f32
// (Hugging Face names, [out, in]), activations and the KV cache are float64, so it sits between
// transformers' float32 and float64 runs. It also builds the Star Attention cache exactly as the
// golden fixtures do (make_golden.py star_cache). Sliding windows are by true positions, at the anchor
// too (the rule src/model/transformer.ts's attendStarBlocks explains).
import type { ModelConfig } from '../../src/model/config.ts';
import { layerNormNames, projectionSources, type ProjectionRows } from '../../src/model/families.ts';
import { ropeInverseFrequencies } from '../../src/model/rope-frequencies.ts';
import { roundThrough } from '../../src/model/dtype.ts';

/** Keys (after RoPE) and values per layer, one row of kvHeads·headDim per token, in position order. */
export class ReferenceKv {
  readonly keys: Float64Array[][];
  readonly values: Float64Array[][];
  readonly positions: number[] = [];

  constructor(layers: number) {
    this.keys = Array.from({ length: layers }, () => []);
    this.values = Array.from({ length: layers }, () => []);
  }

  get length(): number {
    return this.positions.length;
  }

  /** Appends the rows of `other` from row `from` on (Star Attention: a block's KV without its anchor). */
  appendRows(other: ReferenceKv, from: number): void {
    this.keys.forEach((rows, l) => rows.push(...other.keys[l].slice(from)));
    this.values.forEach((rows, l) => rows.push(...other.values[l].slice(from)));
    this.positions.push(...other.positions.slice(from));
  }
}

interface Layer {
  inputNorm: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  o: Float32Array;
  qBias?: Float32Array;
  kBias?: Float32Array;
  vBias?: Float32Array;
  oBias?: Float32Array;
  qNorm?: Float32Array;
  kNorm?: Float32Array;
  /** Gemma: norm of attention's output before the residual add. */
  attentionOutputNorm?: Float32Array;
  postNorm: Float32Array;
  gate: Float32Array;
  up: Float32Array;
  down: Float32Array;
  /** Gemma: norm of the MLP's output before the residual add. */
  mlpOutputNorm?: Float32Array;
  /** undefined: a NoPE layer. */
  invFreq?: Float32Array;
  attentionScaling: number;
  window?: number;
}

export interface GenerateResult {
  /** One row per query token, then one per greedy token fed back: [query + steps][vocab]. */
  logits: Float32Array[];
  tokens: number[];
}

export interface ReferenceOptions {
  /**
   * Round RoPE's inverse frequencies to this type. transformers keeps them in float32, but a model
   * cast with `.to(bfloat16)` (as make_golden.py does before its float32 run) rounds that buffer
   * too, and the fixtures' logits carry it: see Golden.ropeDType.
   */
  ropeDType?: 'f32' | 'f16' | 'bf16';
  /** LongRoPE: the most positions the conversation may reach (default max_position_embeddings). */
  conversationLength?: number;
  /** Called with every matrix and the input it multiplies (a quantizer's calibration: bench/formats/q8-study.ts). */
  observeLinear?: (weight: Float32Array, input: Float64Array) => void;
}

export class ReferenceModel {
  private readonly embedding: Float32Array;
  private readonly layers: Layer[];
  private readonly finalNorm: Float32Array;
  private readonly lmHead: Float32Array;
  private readonly observeLinear: ReferenceOptions['observeLinear'];

  constructor(
    readonly config: ModelConfig,
    weights: ReadonlyMap<string, Float32Array>,
    options: ReferenceOptions = {},
  ) {
    const get = (name: string) => {
      const w = weights.get(name);
      if (!w) throw new Error(`reference model: no weight ${name}`);
      return w;
    };
    const maybe = (name: string, present: boolean) => (present ? get(name) : undefined);
    const optional = (name: string | undefined) => (name === undefined ? undefined : get(name));
    // A projection's rows of its stored tensor (Phi-3 stores q/k/v and gate/up fused); all read the hidden state.
    const rowsOf = ({ tensor, firstRow, rows }: ProjectionRows) => get(tensor).subarray(firstRow * config.hidden, (firstRow + rows) * config.hidden);
    this.embedding = get('model.embed_tokens.weight');
    const { family } = config;
    this.layers = Array.from({ length: config.layers }, (_, i) => {
      const p = `model.layers.${i}.`;
      const sources = projectionSources(config, i);
      const norms = layerNormNames(family, i);
      const { rope, window } = family.layers[i];
      const frequencies =
        rope && ropeInverseFrequencies(config.headDim, rope.theta, rope.scaling, rope.partialRotaryFactor, options.conversationLength ?? config.maxPositionEmbeddings);
      return {
        inputNorm: get(norms.input),
        q: rowsOf(sources.q),
        k: rowsOf(sources.k),
        v: rowsOf(sources.v),
        o: get(`${p}self_attn.o_proj.weight`),
        qBias: maybe(`${p}self_attn.q_proj.bias`, config.attentionBias),
        kBias: maybe(`${p}self_attn.k_proj.bias`, config.attentionBias),
        vBias: maybe(`${p}self_attn.v_proj.bias`, config.attentionBias),
        oBias: maybe(`${p}self_attn.o_proj.bias`, config.attentionOutputBias),
        qNorm: maybe(`${p}self_attn.q_norm.weight`, config.qkNorm),
        kNorm: maybe(`${p}self_attn.k_norm.weight`, config.qkNorm),
        attentionOutputNorm: optional(norms.attentionOutput),
        postNorm: get(norms.mlpInput),
        gate: rowsOf(sources.gate),
        up: rowsOf(sources.up),
        down: get(`${p}mlp.down_proj.weight`),
        mlpOutputNorm: optional(norms.mlpOutput),
        invFreq: frequencies && roundThrough(frequencies.invFreq, options.ropeDType ?? 'f32'),
        attentionScaling: frequencies?.attentionScaling ?? 1,
        window,
      };
    });
    this.finalNorm = get('model.norm.weight');
    this.lmHead = config.tieWordEmbeddings ? this.embedding : get('lm_head.weight');
    this.observeLinear = options.observeLinear;
  }

  newCache(): ReferenceKv {
    return new ReferenceKv(this.config.layers);
  }

  /**
   * Runs `ids` at `positions` through the model. Each token's K/V is appended to `cache` and the token
   * attends to every row of the cache up to and including its own (causal attention). Returns the
   * logits of the rows listed in `logitRows`.
   */
  forward(cache: ReferenceKv, ids: ArrayLike<number>, positions: ArrayLike<number>, logitRows: readonly number[] = []): Float32Array[] {
    const logits: Float32Array[] = [];
    for (let t = 0; t < ids.length; t++) {
      const x = this.token(cache, ids[t], positions[t]);
      if (logitRows.includes(t)) logits.push(this.logits(x));
    }
    return logits;
  }

  /** One token through every layer; returns the final residual stream. */
  private token(cache: ReferenceKv, id: number, position: number): Float64Array {
    const { hidden, heads, kvHeads, headDim, intermediate, rmsNormEps: eps, family } = this.config;
    const offset = family.normWeightOffset;
    const x = new Float64Array(hidden);
    for (let i = 0; i < hidden; i++) x[i] = this.embedding[id * hidden + i] * family.embeddingScale;
    cache.positions.push(position);

    for (let l = 0; l < this.layers.length; l++) {
      const w = this.layers[l];
      // attention
      const xb = rmsNorm(x, w.inputNorm, eps, offset);
      const q = this.linear(w.q, w.qBias, xb, heads * headDim);
      const k = this.linear(w.k, w.kBias, xb, kvHeads * headDim);
      const v = this.linear(w.v, w.vBias, xb, kvHeads * headDim);
      if (w.qNorm && w.kNorm) {
        for (let h = 0; h < heads; h++) rmsNormInPlace(q.subarray(h * headDim, (h + 1) * headDim), w.qNorm, eps, offset);
        for (let h = 0; h < kvHeads; h++) rmsNormInPlace(k.subarray(h * headDim, (h + 1) * headDim), w.kNorm, eps, offset);
      }
      if (w.invFreq) {
        this.rope(q, heads, position, w.invFreq, w.attentionScaling);
        this.rope(k, kvHeads, position, w.invFreq, w.attentionScaling);
      }
      cache.keys[l].push(k);
      cache.values[l].push(v);

      // Keys in the layer's window of true positions (all, without a window).
      const visible = (t: number) => w.window === undefined || cache.positions[t] > position - w.window;
      const att = attention(q, cache.keys[l], cache.values[l], visible, { heads, kvHeads, headDim, scale: family.attentionScale, softcap: family.attentionSoftcap });
      const attOut = this.linear(w.o, w.oBias, att, hidden);
      addInPlace(x, w.attentionOutputNorm ? rmsNorm(attOut, w.attentionOutputNorm, eps, offset) : attOut);

      // gated MLP: silu (SwiGLU) or GELU-tanh
      const xb2 = rmsNorm(x, w.postNorm, eps, offset);
      const gate = this.linear(w.gate, undefined, xb2, intermediate);
      const up = this.linear(w.up, undefined, xb2, intermediate);
      const act = family.activation === 'silu' ? silu : geluTanh;
      for (let i = 0; i < intermediate; i++) gate[i] = act(gate[i]) * up[i];
      const mlpOut = this.linear(w.down, undefined, gate, hidden);
      addInPlace(x, w.mlpOutputNorm ? rmsNorm(mlpOut, w.mlpOutputNorm, eps, offset) : mlpOut);
    }
    return x;
  }

  private linear(w: Float32Array, bias: Float32Array | undefined, x: Float64Array, outs: number): Float64Array {
    this.observeLinear?.(w, x);
    return matVec(w, bias, x, outs);
  }

  private logits(x: Float64Array): Float32Array {
    const { rmsNormEps, vocab, family } = this.config;
    const logits = this.linear(this.lmHead, undefined, rmsNorm(x, this.finalNorm, rmsNormEps, family.normWeightOffset), vocab);
    const cap = family.finalLogitSoftcap;
    return Float32Array.from(cap === undefined ? logits : logits.map((v) => cap * Math.tanh(v / cap)));
  }

  /** Hugging Face RoPE (rotate_half: dimension i pairs with i + rotary/2) on each head of `x`. */
  private rope(x: Float64Array, heads: number, position: number, invFreq: Float32Array, attentionScaling: number): void {
    const { headDim } = this.config;
    const half = invFreq.length;
    for (let i = 0; i < half; i++) {
      const angle = position * invFreq[i];
      const cos = Math.cos(angle) * attentionScaling;
      const sin = Math.sin(angle) * attentionScaling;
      for (let h = 0; h < heads; h++) {
        const a = h * headDim + i;
        const b = a + half;
        const [x1, x2] = [x[a], x[b]];
        x[a] = x1 * cos - x2 * sin;
        x[b] = x2 * cos + x1 * sin;
      }
    }
  }

  /**
   * Star Attention phase 1 (make_golden.py star_cache): block 0 alone; every later block i encoded as
   * [anchor = block 0 ; block i] with position ids 0..b-1 then i·b…, the anchor's KV dropped. The
   * blocks' KV, concatenated, is the context cache.
   */
  starPrefill(ids: ArrayLike<number>, blockSize: number): ReferenceKv {
    const all = Array.from(ids);
    const cache = this.newCache();
    for (let start = 0; start < all.length; start += blockSize) {
      const block = all.slice(start, start + blockSize);
      const blockPositions = range(start, block.length);
      const encoded = this.newCache();
      if (start === 0) {
        this.forward(encoded, block, blockPositions);
        cache.appendRows(encoded, 0);
      } else {
        this.forward(encoded, [...all.slice(0, blockSize), ...block], [...range(0, blockSize), ...blockPositions]);
        cache.appendRows(encoded, blockSize);
      }
    }
    return cache;
  }

  /**
   * Phase 2 and decoding (make_golden.py continue_with): the query at positions after the cache, then
   * `steps` greedy tokens, each fed back.
   */
  generate(cache: ReferenceKv, query: ArrayLike<number>, steps: number): GenerateResult {
    let position = cache.positions[cache.length - 1] + 1;
    const logits = this.forward(cache, query, range(position, query.length), range(0, query.length));
    position += query.length;
    const tokens: number[] = [];
    for (let s = 0; s < steps; s++) {
      const next = argmax(logits[logits.length - 1]);
      tokens.push(next);
      logits.push(...this.forward(cache, [next], [position++], [0]));
    }
    return { logits, tokens };
  }
}

function range(start: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start + i);
}

/** y = W·x (+ b), W [outs, ins] row-major. */
function matVec(w: Float32Array, bias: Float32Array | undefined, x: Float64Array, outs: number): Float64Array {
  const ins = x.length;
  const y = new Float64Array(outs);
  for (let o = 0; o < outs; o++) {
    let acc = bias ? bias[o] : 0;
    const row = o * ins;
    for (let i = 0; i < ins; i++) acc += w[row + i] * x[i];
    y[o] = acc;
  }
  return y;
}

/** RMSNorm scaled by (offset + weight): offset 1 for Gemma, whose sum torch rounds to f32. */
function rmsNorm(x: Float64Array, weight: Float32Array, eps: number, offset: number): Float64Array {
  const y = Float64Array.from(x);
  rmsNormInPlace(y, weight, eps, offset);
  return y;
}

function rmsNormInPlace(x: Float64Array, weight: Float32Array, eps: number, offset: number): void {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const scale = 1 / Math.sqrt(ss / x.length + eps);
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(offset + weight[i]) * (x[i] * scale);
}

function silu(g: number): number {
  return g / (1 + Math.exp(-g));
}

/** transformers' gelu_pytorch_tanh. */
function geluTanh(g: number): number {
  return 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g ** 3)));
}

function addInPlace(x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) x[i] += y[i];
}

interface AttentionParams {
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Scores are q·k times this. */
  scale: number;
  /** Gemma 2: scores → softcap · tanh(scores / softcap). */
  softcap: number | undefined;
}

/**
 * Softmax(q·kᵀ·scale)·v per query head over the cached rows for which `visible` holds; query head h
 * reads kv head h / (heads/kvHeads).
 */
function attention(q: Float64Array, keys: Float64Array[], values: Float64Array[], visible: (row: number) => boolean, params: AttentionParams): Float64Array {
  const { heads, kvHeads, headDim, scale, softcap } = params;
  const out = new Float64Array(heads * headDim);
  const scores = new Float64Array(keys.length);
  const group = heads / kvHeads;
  for (let h = 0; h < heads; h++) {
    const qo = h * headDim;
    const ko = Math.floor(h / group) * headDim;
    let max = -Infinity;
    for (let t = 0; t < keys.length; t++) {
      if (!visible(t)) {
        scores[t] = -Infinity;
        continue;
      }
      const k = keys[t];
      let dot = 0;
      for (let d = 0; d < headDim; d++) dot += q[qo + d] * k[ko + d];
      scores[t] = softcap === undefined ? dot * scale : softcap * Math.tanh((dot * scale) / softcap);
      max = Math.max(max, scores[t]);
    }
    let sum = 0;
    for (let t = 0; t < keys.length; t++) {
      scores[t] = Math.exp(scores[t] - max);
      sum += scores[t];
    }
    for (let t = 0; t < keys.length; t++) {
      const p = scores[t] / sum;
      const v = values[t];
      for (let d = 0; d < headDim; d++) out[qo + d] += p * v[ko + d];
    }
  }
  return out;
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}
