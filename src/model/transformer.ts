// The decoder-only transformer (Llama, Mistral, Qwen2/3, Phi-3, SmolLM3, Gemma 2/3) on the GPU, read
// top to bottom: embed (× Gemma's scale) → for each layer: RMSNorm → q,k,v → (q/k norm) → RoPE (not on
// NoPE layers; the layer's own base) → KV cache → attention (windowed on sliding layers, soft-capped
// for Gemma 2) → o_proj → (Gemma: RMSNorm) → residual → RMSNorm → gated MLP (SwiGLU or GELU-tanh) →
// (Gemma: RMSNorm) → residual → final RMSNorm → lm_head (→ Gemma 2's logit soft-capping).
// What differs between families is read once from config.json (src/model/families.ts).
//
// What attention sees is the caller's choice (AttentionPlan): ordinary causal attention over the
// whole cache (full attention, Star Attention's phase 2, decoding), or Star Attention's phase 1, where
// a batch of blocks sees the anchor and its own block only. A piece of many rows is submitted one
// layer at a time, so no single submission runs long enough to trip a GPU watchdog; a decoded token
// (a few rows) is one submission for the whole model, since its cost is the recording, not the work.
import type { Gpu, Recording } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { linear, maxMatvecRows, type InputNorm, type LinearWeight } from '../gpu/kernels/linear.ts';
import { rmsNorm, headRmsNorm, qkHeadRmsNorm } from '../gpu/kernels/norms.ts';
import { gatedActivation, gatedPairs, scaleInPlace, softcapInPlace } from '../gpu/kernels/elementwise.ts';
import { rope } from '../gpu/kernels/rope.ts';
import { embed } from '../gpu/kernels/embed.ts';
import {
  attentionBlockAnchor,
  attentionCitations,
  attentionDecode,
  attentionPrefill,
  prefillMaxSplits,
  prefillSplits,
  decodeScratchBytes,
  gridCell,
  lseMerge,
  type AttentionOutput,
  type AttentionShape,
  type CitationGrid,
  type DecodeQueryRows,
  type DecodeSplits,
  type KvSpan,
  type QueryRows,
} from '../gpu/kernels/attention.ts';
import type { ModelConfig, RopeConfig } from './config.ts';
import { CpuEmbedding } from './cpu-embedding.ts';
import type { ModelWeights } from './weights.ts';
import { basePieceRows, defaultPieceRows } from './memory-plan.ts';
import { ropeInverseFrequencies } from './rope-frequencies.ts';
import { roundThrough } from './dtype.ts';
import type { KvCache } from './kv-cache.ts';

/** Query rows up to this count use the split-KV decode kernel instead of the prefill kernel. */
const decodeRows = 4;
/**
 * Decoding attends to spans reaching on to a multiple of this many cache rows (KvCache.spansReaching),
 * so that a decoded token's recorded commands serve this many tokens before they are recorded anew.
 * The keys past the current token are masked; a split of the decode kernel that holds only those
 * returns at once.
 */
const decodeSpanStep = 256;
/** Recorded decode steps kept (Transformer.keepRecording). */
const maxRecordings = 16;
/** Query-key pairs a piece's row may take on average (see Transformer.pieceRows). */
const pairsPerPieceRow = 16384;
/** Pieces of up to this many rows are recorded into one command buffer for all layers. */
const singleSubmitRows = 8;

export type AttentionPlan =
  /** Every row sees every cached key at a position ≤ its own (the rows' own keys included). */
  | { kind: 'causal' }
  /**
   * Star Attention phase 1: the rows are whole blocks of `blockSize` tokens (the last may be
   * shorter), none of them block 0. Each sees the first `anchorRows` rows of `anchorCache` (block 0's
   * KV, encoded once) and the causal part of its own block.
   */
  | { kind: 'star-blocks'; blockSize: number; anchorRows: number; anchorCache: KvCache };

/** Partial attention results of other hosts for one layer: `count` partials of [rows, heads, headDim] and [rows, heads]. */
export interface RemotePartials {
  o: Float32Array;
  lse: Float32Array;
  count: number;
  /** With a citation grid: the hosts' splits' LSEs (see SplitLses), one after another. */
  splits?: SplitLses;
}

/** A decode's per-split LSEs [slots, rows, heads] on the CPU, and per KV span its slots' first grid cell. */
export interface SplitLses {
  lse: Float32Array;
  spans: DecodeSplits['spans'];
}

/** What a host returns in phase 2: its normalised partial O and LSE, and its splits' LSEs when asked for citations. */
export interface HostPartial {
  o: Float32Array;
  lse: Float32Array;
  splits?: SplitLses;
}

/**
 * Asks the other hosts for their partial attention over their KV shards (Star Attention phase 2);
 * with `grid`, their splits' LSEs on it too (citations).
 */
export type RemoteAttention = (layer: number, q: Float32Array, rows: number, firstPosition: number, grid?: CitationGrid) => Promise<RemotePartials>;

/** What Transformer.startCitations records: the decoded rows' attention shares per span of the document. */
export interface CitationRequest {
  /** Position of the document's first token: spans start there (what precedes it is cell 0). */
  origin: number;
  /** Position of the first recorded row (table row 0); rows before it are not recorded. */
  firstPosition: number;
  /** Rows recorded at most (decoded tokens): the table's height. */
  rows: number;
  /** Tokens per span, a multiple of 16 (the decode kernel's key tile). Default 256. */
  spanTokens?: number;
}

/** Citations recorded so far: shares [rows, cells], cell c covering the grid's cell c (see CitationGrid). */
export interface CitationShares {
  grid: CitationGrid;
  cells: number;
  rows: number;
  shares: Float32Array;
  /** The layers whose attention was averaged. */
  layers: number[];
}

/** Tokens per citation span by default: 16 key tiles, small enough to point at a paragraph. */
export const defaultSpanTokens = 256;

interface CitationRecording {
  grid: CitationGrid;
  firstPosition: number;
  rows: number;
  cells: number;
  table: GPUBuffer;
  layers: Set<number>;
  weight: number;
}

export interface ForwardRequest {
  ids: ArrayLike<number>;
  /** Position id of the first row; rows take consecutive positions. */
  firstPosition: number;
  cache: KvCache;
  attention: AttentionPlan;
  /** Which rows' logits to compute. */
  logits: 'none' | 'last' | 'all';
  remote?: RemoteAttention;
  /** Called after each piece with the number of rows done so far. */
  onPiece?: (rowsDone: number) => void;
  /** Checked between pieces; an aborted forward leaves the cache as it was before the call. */
  signal?: AbortSignal;
  /**
   * The rows' ids are on the GPU (u32 each, e.g. the id a GPU sampler just chose): the embedding reads
   * them here and `ids` gives only their count. Lets a decoded token be queued before the previous
   * one's id has come back to the CPU.
   */
  tokens?: GPUBuffer;
  /** Records more work on the logits into the same submission (a GPU sampler), before it is sent. */
  afterLogits?: (encoder: GPUCommandEncoder, logits: Tensor) => void;
  /**
   * The most positions this conversation (document, questions and answers) may reach: LongRoPE picks
   * its factors from it, once for the whole document (see ropeInverseFrequencies). A forward without
   * it uses the value an earlier forward gave for the same cache, so every key of one cache is rotated
   * alike; without either, the model's max_position_embeddings.
   */
  conversationLength?: number;
}

/** RoPE's inverse frequencies on the GPU and the factor cos and sin are scaled by. */
interface RopeTable {
  invFreq: Tensor;
  attentionScaling: number;
}

interface Activations {
  rows: number;
  hidden: Tensor; // residual stream h [rows, hidden]
  normed: Tensor; // [rows, hidden]
  q: Tensor; // [rows, heads·headDim], rotated
  qkv?: Tensor; // [rows, (heads + 2·kvHeads)·headDim]: a fused projection's q, k, v (layers with one)
  k?: Tensor; // [rows, kvHeads·headDim]: separate projections (layers with them)
  v?: Tensor;
  attentionOut: Tensor; // [rows, heads·headDim], normalised
  attention: AttentionOutput; // { o: attentionOut's buffer, lse [rows, heads] }
  projected: Tensor; // [rows, hidden]
  gate: Tensor; // [rows, intermediate]: the gate projection, then the gated values down_proj reads
  up?: Tensor; // [rows, intermediate]: separate gate and up projections (layers with them)
  gateUp?: Tensor; // [rows, 2·intermediate]: a fused gate and up projection's rows, many rows at once
  ids: GPUBuffer; // u32 [rows]
  positions: GPUBuffer; // u32 [rows]
}

export interface TransformerOptions {
  /** Most rows one forward piece processes: bounds activation memory and the work per submission. */
  maxRows?: number;
  /**
   * Round RoPE's inverse frequencies through this type, as transformers does for a model cast with
   * `model.to(dtype)` (the inv_freq buffer is cast too). Default f32, as `from_pretrained` keeps it.
   */
  ropeDType?: 'f32' | 'f16' | 'bf16';
  /**
   * false: every decoded token is recorded anew instead of replaying the commands recorded for an
   * earlier one (see replayKey). The results are the same bit for bit (tested); only slower.
   */
  replay?: boolean;
}

export class Transformer {
  /** The attention shape of every layer but for its window. */
  readonly shape: AttentionShape;
  /** Per layer: the shape with the layer's sliding window, if any. */
  private readonly layerShapes: AttentionShape[];
  private readonly ropeDType: 'f32' | 'f16' | 'bf16';
  /** By the frequencies' values: layers with the same RoPE share one table. */
  private readonly ropeTables = new Map<string, RopeTable>();
  /** ForwardRequest.conversationLength as first given for each cache. */
  private readonly conversationLengths = new WeakMap<KvCache, number>();
  /** The last conversation length's tables per layer: a decoded token does not recompute them. */
  private layerRopeCache: { conversationLength: number; ropes: (RopeTable | undefined)[] } | undefined;
  private activations: Activations | undefined;
  /**
   * Scratch for partial attention outputs, one per use: the spans of this host's cache (attendSpans)
   * and the hosts of phase 2 (attendWithRemote), whose partials must survive this host's own
   * multi-span attention recorded between their upload and their merge.
   */
  private readonly partials = new Map<'spans' | 'hosts', { buffers: AttentionOutput; bytes: number }>();
  private decodeScratch: GPUBuffer | undefined;
  private logitsBuffer: Tensor | undefined;
  /** A decoded token's commands by replayKey: the next tokens replay them. */
  private readonly recordings = new Map<string, Recording>();
  private readonly objectIds = new WeakMap<object, number>();
  private nextObjectId = 0;
  /** The answer whose citations are being recorded (startCitations … stopCitations). */
  private citations: CitationRecording | undefined;
  /** The other hosts' splits' LSEs, uploaded for attentionCitations. */
  private remoteSplits: GPUBuffer | undefined;

  readonly maxRows: number;
  private readonly replay: boolean;

  constructor(
    readonly gpu: Gpu,
    readonly config: ModelConfig,
    readonly weights: ModelWeights,
    options: TransformerOptions = {},
  ) {
    this.maxRows = options.maxRows ?? defaultPieceRows(config, { runsOnCpu: gpu.adapter.runsOnCpu, maxStorageBufferBindingSize: gpu.maxBindingBytes });
    this.shape = {
      heads: config.heads,
      kvHeads: config.kvHeads,
      headDim: config.headDim,
      scale: config.family.attentionScale,
      softcap: config.family.attentionSoftcap,
    };
    this.layerShapes = config.family.layers.map((layer) => ({ ...this.shape, window: layer.window }));
    this.ropeDType = options.ropeDType ?? 'f32';
    this.replay = options.replay ?? true;
  }

  /** Whether ForwardRequest.tokens (ids on the GPU) can be fed: not when the embedding is gathered on the CPU. */
  get takesGpuTokens(): boolean {
    return !(this.weights.embedding instanceof CpuEmbedding);
  }

  private conversationLength({ cache, conversationLength }: ForwardRequest): number {
    if (conversationLength !== undefined && !this.conversationLengths.has(cache)) this.conversationLengths.set(cache, conversationLength);
    return conversationLength ?? this.conversationLengths.get(cache) ?? this.config.maxPositionEmbeddings;
  }

  /** Per layer, the RoPE table for a conversation of up to `conversationLength` positions (undefined: a NoPE layer). */
  private layerRopes(conversationLength: number): (RopeTable | undefined)[] {
    if (this.layerRopeCache?.conversationLength !== conversationLength) {
      const ropes = this.config.family.layers.map((layer) => layer.rope && this.ropeTable(layer.rope, conversationLength));
      this.layerRopeCache = { conversationLength, ropes };
    }
    return this.layerRopeCache.ropes;
  }

  private ropeTable(rope: RopeConfig, conversationLength: number): RopeTable {
    const { headDim } = this.config;
    const frequencies = ropeInverseFrequencies(headDim, rope.theta, rope.scaling, rope.partialRotaryFactor, conversationLength);
    const invFreq = roundThrough(frequencies.invFreq, this.ropeDType);
    const key = `${frequencies.attentionScaling}:${invFreq.join(',')}`;
    let table = this.ropeTables.get(key);
    if (!table) {
      table = { invFreq: this.gpu.tensorFrom(invFreq, 'f32', [invFreq.length]), attentionScaling: frequencies.attentionScaling };
      this.ropeTables.set(key, table);
    }
    return table;
  }

  /**
   * Runs `ids` through the model, appending their keys and values to `cache`, and returns the
   * requested logits ([rows or 1, vocab], f32) — on the GPU, valid until the next call.
   */
  async forward(request: ForwardRequest): Promise<Tensor | undefined> {
    const { ids, firstPosition } = request;
    if (ids.length === 0) throw new Error('forward() needs at least one token');
    if (request.logits === 'all' && ids.length > this.maxRows) {
      throw new Error(`Logits for every row are available for at most ${this.maxRows} rows at once, not ${ids.length}`);
    }
    const cacheLength = request.cache.length;
    let logits: Tensor | undefined;
    // Bounded work in flight: at most two pieces, the one the GPU runs and the next, recorded while it
    // runs (waiting for each piece before recording the next left the GPU idle meanwhile).
    let pieceBeforeLastDone: (() => Promise<void>) | undefined;
    let lastPieceDone: (() => Promise<void>) | undefined;
    try {
      for (let start = 0; start < ids.length; ) {
        request.signal?.throwIfAborted();
        await pieceBeforeLastDone?.();
        const end = this.pieceEnd(request, start);
        logits = await this.forwardPiece({
          ...request,
          ids: Array.prototype.slice.call(ids, start, end) as number[],
          firstPosition: firstPosition + start,
          logits: end === ids.length ? request.logits : 'none',
        });
        request.onPiece?.(end);
        if (end < ids.length) [pieceBeforeLastDone, lastPieceDone] = [lastPieceDone, this.gpu.submittedWorkDone()];
        start = end;
      }
    } catch (error) {
      request.cache.truncate(cacheLength);
      throw error;
    }
    return logits;
  }

  /**
   * Where the piece of rows starting at `start` ends. In Star Attention's phase 1 a piece is a whole
   * number of blocks within one KV chunk, or, for a block longer than maxRows, part of one block.
   */
  private pieceEnd(request: ForwardRequest, start: number): number {
    const n = request.ids.length;
    const plan = request.attention;
    if (plan.kind !== 'star-blocks') return Math.min(n, start + this.pieceRows(request.cache.length + this.maxRows));
    const b = plan.blockSize;
    const rows = this.pieceRows(plan.anchorRows + b);
    if (b > rows || request.cache.alignedTo() % b !== 0) {
      // Part of one block at a time: blocks longer than a piece, or a cache whose chunks are
      // smaller than a block.
      const blockEnd = (Math.floor((request.firstPosition + start) / b) + 1) * b - request.firstPosition;
      return Math.min(n, blockEnd, start + rows);
    }
    const wholeBlocks = Math.floor(rows / b) * b;
    return Math.min(n, start + wholeBlocks, start + request.cache.contiguousRowsFrom(request.cache.length));
  }

  /**
   * Rows of a piece whose rows see up to `keys` keys each: maxRows, fewer where that would put more
   * than maxRows · 16,384 query-key pairs in one submission (a long context's later pieces), so that a
   * piece's work stays what 2,048 rows over 16K keys take, but never under 512 rows (or maxRows).
   */
  private pieceRows(keys: number): number {
    if (this.maxRows <= basePieceRows) return this.maxRows;
    const withinPairs = Math.floor((this.maxRows * pairsPerPieceRow) / keys / 64) * 64;
    return Math.min(this.maxRows, Math.max(basePieceRows, withinPairs));
  }

  private async forwardPiece(request: ForwardRequest): Promise<Tensor | undefined> {
    const { gpu, config } = this;
    const rows = request.ids.length;
    const a = this.activationsFor(rows);
    if (!request.tokens) gpu.write(a.ids, Uint32Array.from(request.ids));
    const { embedding } = this.weights;
    if (embedding instanceof CpuEmbedding) {
      if (request.tokens) throw new Error('This model\'s embedding is gathered on the CPU: its ids must come from the CPU, not a GPU buffer');
      gpu.write(a.hidden.buffer, embedding.gather(request.ids));
    }
    gpu.write(a.positions, Uint32Array.from({ length: rows }, (_, i) => request.firstPosition + i));
    const cacheRow = request.cache.append(rows, request.firstPosition);
    const logitRows = request.logits === 'all' ? rows : 1;
    const logits = request.logits === 'none' ? undefined : this.logitsFor(logitRows);

    let encoder = gpu.encoder('forward');
    const replayKey = this.replayKey(request, rows);
    const recorded = replayKey === undefined ? undefined : this.recordings.get(replayKey);
    if (recorded) {
      gpu.replay(encoder, recorded);
    } else {
      if (replayKey !== undefined) gpu.startRecording(encoder);
      encoder = await this.recordModel(encoder, request, cacheRow, a, logits);
      if (replayKey !== undefined) this.keepRecording(replayKey, gpu.stopRecording(encoder));
    }
    if (!logits) {
      gpu.submit(encoder);
      return undefined;
    }
    const out = { ...logits, shape: [logitRows, config.vocab] };
    request.afterLogits?.(encoder, out);
    gpu.submit(encoder);
    return out;
  }

  /**
   * What identifies a decoded token's commands: everything they depend on but the token's id and
   * position (written into buffers before each replay). One row, all attention on this host, no sliding
   * window (its spans move with every token); the cache's layout, its spans (the last one's reach is
   * new every decodeSpanStep tokens, see KvCache.spansReaching), where the id comes from, the citation
   * table it adds to, the logits wanted and the RoPE tables' conversation length. Undefined: not replayable, record as usual.
   */
  private replayKey(request: ForwardRequest, rows: number): string | undefined {
    if (!this.replay || rows !== 1 || request.remote || this.layerShapes.some((shape) => shape.window !== undefined)) return undefined;
    const { cache } = request;
    const spans = cache.spansReaching(0, cache.length, decodeSpanStep);
    // With the layout fixed, the spans before the last are those that end where it starts.
    const last = spans[spans.length - 1];
    const span = `${spans.length} ${last.start} ${last.length} ${last.firstPosition}`;
    const tokens = request.tokens ? this.bufferId(request.tokens) : -1;
    // Cited tokens add to the answer's citation table (its own buffer); earlier rows do not.
    const c = this.citations;
    const citing = c && request.firstPosition >= c.firstPosition ? this.bufferId(c.table) : -1;
    return `${this.bufferId(cache)} ${cache.layoutVersion} ${span} ${tokens} ${citing} ${request.logits} ${this.conversationLength(request)}`;
  }

  private keepRecording(key: string, recording: Recording): void {
    // A few live at once (a conversation's cache, the next span's reach, a sampler's token buffer);
    // older ones may hold buffers since destroyed, so they are dropped rather than kept without bound.
    if (this.recordings.size >= maxRecordings) this.recordings.clear();
    this.recordings.set(key, recording);
  }

  private bufferId(object: object): number {
    let id = this.objectIds.get(object);
    if (id === undefined) {
      id = this.nextObjectId++;
      this.objectIds.set(object, id);
    }
    return id;
  }

  /**
   * Records the model's pass over the piece's rows — embedding, every layer, and the logits wanted —
   * on `encoder`; returns the encoder the caller submits (a long piece submits one layer at a time,
   * and attention with other hosts submits around each exchange).
   */
  private async recordModel(encoder: GPUCommandEncoder, request: ForwardRequest, cacheRow: number, a: Activations, logits: Tensor | undefined): Promise<GPUCommandEncoder> {
    const { gpu, config, weights } = this;
    const { family } = config;
    const rows = request.ids.length;
    const ropes = this.layerRopes(this.conversationLength(request));
    const norm = { weightOffset: family.normWeightOffset };
    // Remote partials are awaited mid-layer, so that path submits around each attention.
    const oneSubmission = rows <= singleSubmitRows && !request.remote;

    // A CPU embedding's rows were written by forwardPiece.
    if (!(weights.embedding instanceof CpuEmbedding)) embed(gpu, encoder, weights.embedding, request.tokens ?? a.ids, a.hidden, rows);
    if (family.embeddingScale !== 1) scaleInPlace(gpu, encoder, a.hidden, family.embeddingScale, rows * config.hidden);

    // A few rows (decoding) fold each RMSNorm into the projections that read it and the MLP's gating
    // into the up projection (matvec's NORM_INPUT, and GATE_UP or GATED): 3 dispatches fewer a layer.
    // Fused projections (src/model/weights.ts) save 4 more: q, k and v in one projection whose rows
    // rope_kv_store rotates and appends to the cache in one dispatch, gate and up in one (and 1 more
    // with Qwen3's and Gemma 3's q/k norms, both in one dispatch).
    const fold = rows <= maxMatvecRows;
    const normed = (x: Tensor, weight: Tensor, count: number): { x: Tensor; inputNorm?: InputNorm } => {
      if (count <= maxMatvecRows) return { x, inputNorm: { weight, eps: config.rmsNormEps, weightOffset: family.normWeightOffset } };
      rmsNorm(gpu, encoder, x, weight, a.normed, count, config.rmsNormEps, norm);
      return { x: a.normed };
    };

    for (let layer = 0; layer < config.layers; layer++) {
      const w = weights.layers[layer];
      const attentionInput = normed(a.hidden, w.inputNorm, rows);
      const table = ropes[layer]; // none on a NoPE layer (SmolLM3): q and k keep no position
      if ('fused' in w.qkv) {
        // One projection into rows of [q, k, v], (q/k norms in one dispatch,) then RoPE and the cache
        // append in one dispatch.
        const qkv = a.qkv!;
        linear(gpu, encoder, attentionInput.x, w.qkv.fused, qkv, rows, attentionInput);
        if (w.qNorm && w.kNorm) {
          qkHeadRmsNorm(gpu, encoder, qkv, { q: w.qNorm, k: w.kNorm }, rows, { q: config.heads, kv: config.kvHeads }, config.rmsNormEps, norm);
        }
        request.cache.writeRotated(encoder, layer, { qkv: qkv.buffer, q: a.q.buffer, positions: a.positions, heads: config.heads, rope: table }, 0, cacheRow, rows);
      } else {
        const [k, v] = [a.k!, a.v!];
        linear(gpu, encoder, attentionInput.x, w.qkv.q, a.q, rows, attentionInput);
        linear(gpu, encoder, attentionInput.x, w.qkv.k, k, rows, attentionInput);
        linear(gpu, encoder, attentionInput.x, w.qkv.v, v, rows, attentionInput);
        if (w.qNorm && w.kNorm) {
          headRmsNorm(gpu, encoder, a.q, w.qNorm, rows, config.heads, config.rmsNormEps, norm);
          headRmsNorm(gpu, encoder, k, w.kNorm, rows, config.kvHeads, config.rmsNormEps, norm);
        }
        if (table) rope(gpu, encoder, a.q, k, a.positions, table.invFreq, rows, config.heads, config.kvHeads, config.headDim, table.attentionScaling);
        request.cache.write(encoder, layer, k.buffer, v.buffer, a.positions, 0, cacheRow, rows);
      }

      if (request.remote) {
        gpu.submit(encoder);
        await this.attendWithRemote(request, layer, cacheRow, rows, a);
        encoder = gpu.encoder('forward');
      } else {
        this.attend(encoder, request, layer, cacheRow, rows, a);
      }

      this.residualAdd(encoder, a.attentionOut, w.o, w.attentionOutputNorm, a, rows);
      const mlpInput = normed(a.hidden, w.postAttentionNorm, rows);
      let gated = a.gate;
      if ('fused' in w.gateUp) {
        // A few rows: the two projections and the gating in one dispatch; more: one matrix product.
        if (fold) {
          linear(gpu, encoder, mlpInput.x, w.gateUp.fused, a.gate, rows, { ...mlpInput, gateUp: family.activation });
        } else {
          linear(gpu, encoder, mlpInput.x, w.gateUp.fused, a.gateUp!, rows);
          gatedPairs(gpu, encoder, family.activation, a.gateUp!, a.gate, rows, config.intermediate);
        }
      } else {
        const up = a.up!;
        linear(gpu, encoder, mlpInput.x, w.gateUp.gate, a.gate, rows, mlpInput);
        if (fold) {
          linear(gpu, encoder, mlpInput.x, w.gateUp.up, up, rows, { ...mlpInput, gate: { values: a.gate, activation: family.activation } });
          gated = up;
        } else {
          linear(gpu, encoder, mlpInput.x, w.gateUp.up, up, rows);
          gatedActivation(gpu, encoder, family.activation, a.gate, up, a.gate, rows * config.intermediate);
        }
      }
      this.residualAdd(encoder, gated, w.down, w.mlpOutputNorm, a, rows);
      if (!oneSubmission) {
        gpu.submit(encoder);
        encoder = gpu.encoder('forward');
      }
    }

    if (!logits) return encoder;
    const logitRows = request.logits === 'all' ? rows : 1;
    let source = a.hidden;
    if (request.logits === 'last' && rows > 1) {
      // Only the last row's logits are wanted: move it to the front of the scratch row.
      const rowBytes = config.hidden * 4;
      gpu.copy(encoder, a.hidden.buffer, (rows - 1) * rowBytes, a.projected.buffer, 0, rowBytes);
      source = a.projected;
    }
    const headInput = normed(source, weights.finalNorm, logitRows);
    linear(gpu, encoder, headInput.x, weights.lmHead, logits, logitRows, headInput);
    if (family.finalLogitSoftcap !== undefined) softcapInPlace(gpu, encoder, logits, family.finalLogitSoftcap, logitRows * config.vocab);
    return encoder;
  }

  /**
   * hidden += x·Wᵀ, or, with Gemma's output norm, hidden += RMSNorm(x·Wᵀ). Either way the projection
   * or the norm adds to the residual stream itself (accumulate), with no separate add.
   */
  private residualAdd(encoder: GPUCommandEncoder, x: Tensor, w: LinearWeight, outputNorm: Tensor | undefined, a: Activations, rows: number): void {
    const { gpu, config } = this;
    if (!outputNorm) {
      linear(gpu, encoder, x, w, a.hidden, rows, { accumulate: true });
      return;
    }
    linear(gpu, encoder, x, w, a.projected, rows);
    rmsNorm(gpu, encoder, a.projected, outputNorm, a.hidden, rows, config.rmsNormEps, { weightOffset: config.family.normWeightOffset, accumulate: true });
  }

  /** Attention for this piece's rows at one layer over this host's cache, into a.attention (o normalised, lse). */
  private attend(encoder: GPUCommandEncoder, request: ForwardRequest, layer: number, cacheRow: number, rows: number, a: Activations): void {
    const query = { q: a.q.buffer, rows, firstPosition: request.firstPosition, positions: a.positions };
    const plan = request.attention;
    if (plan.kind === 'star-blocks') {
      this.attendStarBlocks(encoder, plan, request.cache, layer, cacheRow, query, a.attention);
    } else {
      const shape = this.layerShapes[layer];
      const cited = this.citationsAt(layer, query);
      const splits = this.attendCausal(encoder, shape, query, ownSpans(request.cache, layer, cacheRow + rows, rows), a.attention, cited?.grid);
      if (cited && splits) this.recordShares(encoder, shape, splits, a.attention.lse, query);
    }
  }

  /**
   * Starts recording, for each decoded row at a position ≥ request.firstPosition, the share of its
   * attention that each span of `spanTokens` positions from `origin` received (GPU-side; read with
   * readCitations). Averaged over heads and over the global (not sliding-window) layers of the
   * model's second half: early layers attend mostly nearby and by position, and a sliding-window
   * layer cannot see past its window, so those would point at the question, not at the document; the
   * later global layers hold the heads that retrieve from far back. Decode splits of those layers follow the
   * spans (same attention, other partial sums); the merged output stays exact.
   */
  startCitations(request: CitationRequest): void {
    this.stopCitations();
    const spanTokens = request.spanTokens ?? defaultSpanTokens;
    if (!(Number.isInteger(spanTokens) && spanTokens > 0 && spanTokens % 16 === 0)) throw new Error(`spanTokens ${spanTokens} must be a positive multiple of 16`);
    if (!(Number.isInteger(request.origin) && request.origin >= 0)) throw new Error(`origin ${request.origin} must be a position`);
    if (!(Number.isInteger(request.rows) && request.rows > 0)) throw new Error(`rows ${request.rows} must be a positive integer`);
    const grid = { keys: spanTokens, origin: request.origin };
    const cells = gridCell(grid, request.firstPosition + request.rows) + 1;
    const layers = citedLayers(this.config.family.layers.map((l) => l.window));
    const table = this.gpu.buffer(request.rows * cells * 4, 'citation shares');
    this.citations = { grid, firstPosition: request.firstPosition, rows: request.rows, cells, table, layers: new Set(layers), weight: 1 / (this.shape.heads * layers.length) };
  }

  /** The shares recorded since startCitations, for the first `rows` rows (what was decoded). */
  async readCitations(rows: number): Promise<CitationShares> {
    const c = this.citations;
    if (!c) throw new Error('No citations are being recorded: call startCitations() first');
    const n = Math.min(rows, c.rows);
    const shares = n === 0 ? new Float32Array(0) : new Float32Array(await this.gpu.read(c.table, n * c.cells * 4));
    return { grid: c.grid, cells: c.cells, rows: n, shares, layers: [...c.layers] };
  }

  /** Whether startCitations is recording. */
  get citing(): boolean {
    return this.citations !== undefined;
  }

  stopCitations(): void {
    this.citations?.table.destroy();
    this.citations = undefined;
  }

  /** The recording that the decoded `query` rows at `layer` add to, if any. */
  private citationsAt(layer: number, query: { rows: number; firstPosition: number }): CitationRecording | undefined {
    const c = this.citations;
    if (!c || query.rows > decodeRows || query.firstPosition < c.firstPosition || !c.layers.has(layer)) return undefined;
    return c;
  }

  /** Adds the splits' shares of the query rows' attention (merged LSE `lse`) to the citation table. */
  private recordShares(encoder: GPUCommandEncoder, shape: AttentionShape, splits: DecodeSplits, lse: GPUBuffer, query: DecodeQueryRows): void {
    const c = this.citations!;
    const table = { shares: c.table, firstPosition: c.firstPosition, rows: c.rows, cells: c.cells, weight: c.weight };
    attentionCitations(this.gpu, encoder, shape, splits, lse, query, table);
  }

  /**
   * Star Attention phase 2 across hosts: this host's partial over its own KV (its context blocks and
   * the query's tokens) and the other hosts' partials over theirs, merged exactly by log-sum-exp.
   */
  private async attendWithRemote(request: ForwardRequest, layer: number, cacheRow: number, rows: number, a: Activations): Promise<void> {
    const { gpu } = this;
    const shape = this.layerShapes[layer];
    const query = { q: a.q.buffer, rows, firstPosition: request.firstPosition, positions: a.positions };
    const spans = ownSpans(request.cache, layer, cacheRow + rows, rows);
    const cited = this.citationsAt(layer, query);
    const q = await gpu.readF32({ ...a.q, shape: [rows, shape.heads * shape.headDim] });
    const remoteAnswer = request.remote!(layer, q, rows, request.firstPosition, cited?.grid);
    // This host's own partial is submitted before waiting for the others: it runs while they compute theirs.
    let splits: DecodeSplits | undefined;
    gpu.run((encoder) => {
      splits = this.attendCausal(encoder, shape, query, spans, a.attention, cited?.grid);
    });
    const remote = await remoteAnswer;
    const count = 1 + remote.count;
    const partials = this.partialsFor('hosts', count, rows);
    const oBytes = rows * shape.heads * shape.headDim * 4;
    const lseBytes = rows * shape.heads * 4;
    gpu.write(partials.o, remote.o, oBytes);
    gpu.write(partials.lse, remote.lse, lseBytes);
    const remoteSplits = cited && remote.splits ? this.uploadRemoteSplits(remote.splits) : undefined;
    gpu.run((encoder) => {
      gpu.copy(encoder, a.attention.o, 0, partials.o, 0, oBytes);
      gpu.copy(encoder, a.attention.lse, 0, partials.lse, 0, lseBytes);
      lseMerge(gpu, encoder, shape, partials, count, rows, a.attention);
      // Every host's splits against the merged LSE: the shares of all hosts' spans sum to 1.
      if (cited && splits) this.recordShares(encoder, shape, splits, a.attention.lse, query);
      if (remoteSplits) this.recordShares(encoder, shape, remoteSplits, a.attention.lse, query);
    });
  }

  /** The other hosts' splits' LSEs on the GPU, in one buffer reused from layer to layer. */
  private uploadRemoteSplits(splits: SplitLses): DecodeSplits {
    const bytes = Math.max(4, splits.lse.byteLength);
    if (!this.remoteSplits || this.remoteSplits.size < bytes) {
      this.remoteSplits?.destroy();
      this.remoteSplits = this.gpu.buffer(bytes, 'remote split LSEs');
    }
    if (splits.lse.length > 0) this.gpu.write(this.remoteSplits, splits.lse);
    return { lse: { buffer: this.remoteSplits, offset: 0, size: bytes }, spans: splits.spans };
  }

  /**
   * Phase 1 of Star Attention for rows of blocks > 0: each row sees the anchor (block 0's first
   * anchorRows keys, all at earlier positions) and the causal part of its own block.
   */
  private attendStarBlocks(
    encoder: GPUCommandEncoder,
    plan: Extract<AttentionPlan, { kind: 'star-blocks' }>,
    cache: KvCache,
    layer: number,
    cacheRow: number,
    query: { q: GPUBuffer; rows: number; firstPosition: number },
    out: AttentionOutput,
  ): void {
    const { gpu } = this;
    // A sliding-window layer applies its window here too, by true positions, to the anchor as to the
    // block: a block whose queries are all farther than the window from position a−1 sees no anchor
    // key at that layer, only its own block's keys within the window. Why not keep the anchor visible:
    // a windowed layer never attended beyond its window in training (Gemma's local layers rotate with
    // their own RoPE base for short distances only), so an anchor thousands of positions back would
    // be a distribution it has never seen, while full attention at that layer sees nothing that far
    // back either. So Star Attention changes only the global layers (anchor + block instead of the
    // whole prefix); windowed layers differ from full attention only in the window's keys that fall in
    // earlier blocks. With b ≥ n it is exactly full attention, and phase 2 is exact at every layer.
    const shape = this.layerShapes[layer];
    const anchorSpans = plan.anchorCache.spans(layer, 0, plan.anchorRows).map((span) => withinWindow(span, shape.window, query.firstPosition));
    const b = plan.blockSize;
    const offsetInBlock = query.firstPosition % b;
    const blockSpans = cache.spans(layer, cacheRow - offsetInBlock, cacheRow + query.rows);
    // The first piece of a block longer than a piece goes in key splits where the device wants them,
    // as the block's later pieces do: in one pass its few workgroups (112 for Qwen2.5-0.5B's 512 rows)
    // would each walk the whole anchor.
    const splitWanted = query.rows < b && prefillMaxSplits(gpu, shape, query.rows) > 1;
    if (offsetInBlock === 0 && anchorSpans.length === 1 && blockSpans.length === 1 && !splitWanted) {
      // Whole blocks, batched: one pass over the anchor and each row's own block.
      attentionBlockAnchor(gpu, encoder, shape, query, anchorSpans[0], blockSpans[0], b, out);
      return;
    }
    // Part of one block (pieceEnd keeps a piece within its block whenever this path can be taken):
    // the anchor, all at earlier positions, and the block so far, causal; merged.
    this.attendSpans(encoder, shape, query, [...anchorSpans, ...blockSpans], out);
  }

  /**
   * Causal attention of `query` over `spans` of this host's cache. With a citation grid (decoded rows
   * only), the decode splits tile its cells: returns where their LSEs are, for recordShares.
   */
  private attendCausal(
    encoder: GPUCommandEncoder,
    shape: AttentionShape,
    query: QueryRows & DecodeQueryRows,
    cached: KvSpan[],
    out: AttentionOutput,
    grid?: CitationGrid,
  ): DecodeSplits | undefined {
    const spans = cached.map((span) => withinWindow(span, shape.window, query.firstPosition));
    if (query.rows <= decodeRows) {
      // Sized for the whole cache, not the windowed spans, and for the grid's splits whether this layer
      // is cited or not: every layer of a decoded token shares this scratch in one submission, so it
      // must not be replaced by a larger one between layers.
      const citing = grid ?? this.citations?.grid;
      const bytes = Math.max(decodeScratchBytes(this.gpu, shape, query.rows, cached), citing ? decodeScratchBytes(this.gpu, shape, query.rows, cached, citing) : 0);
      const scratch = this.decodeScratchFor(bytes);
      return attentionDecode(this.gpu, encoder, shape, query, spans, scratch, out, grid);
    }
    this.attendSpans(encoder, shape, query, spans, out);
    return undefined;
  }

  /**
   * Flash attention over each span (causal by position), each span's keys in splits where a GPU wants
   * more workgroups (prefillSplits), every split a partial merged by log-sum-exp when more than one.
   */
  private attendSpans(
    encoder: GPUCommandEncoder,
    shape: AttentionShape,
    query: { q: GPUBuffer; rows: number; firstPosition: number },
    spans: KvSpan[],
    out: AttentionOutput,
  ): void {
    const { gpu } = this;
    const splits = spans.map((span) => prefillSplits(gpu, shape, query.rows, span.length));
    const slots = splits.reduce((n, s) => n + s.count, 0);
    if (slots === 1) {
      attentionPrefill(gpu, encoder, shape, query, spans[0], out);
      return;
    }
    // Sized by the rows, not by these spans' lengths: a windowed layer's spans are shorter than the
    // next layer's, and replacing the partials between layers would destroy a buffer the piece's
    // unsubmitted commands still use.
    const partials = this.partialsFor('spans', spans.length * prefillMaxSplits(gpu, shape, query.rows), query.rows);
    let slot = 0;
    spans.forEach((span, i) => {
      attentionPrefill(gpu, encoder, shape, query, span, partials, { ...splits[i], slot });
      slot += splits[i].count;
    });
    lseMerge(gpu, encoder, shape, partials, slots, query.rows, out);
  }

  /**
   * Partial attention of `q` (rows × heads·headDim, f32, positions firstPosition…) over every span of
   * `cache` at `layer`: what a host returns to the query host in phase 2. With a citation grid (decoded
   * rows), also its splits' LSEs on the grid, for the query host to turn into shares once it has merged.
   */
  async partialAttention(cache: KvCache, layer: number, q: Float32Array, rows: number, firstPosition: number, grid?: CitationGrid): Promise<HostPartial> {
    const a = this.activationsFor(rows);
    this.gpu.write(a.q.buffer, q);
    this.gpu.write(a.positions, Uint32Array.from({ length: rows }, (_, i) => firstPosition + i));
    const spans = cache.spans(layer);
    const shape = this.layerShapes[layer];
    const citing = grid && rows <= decodeRows ? grid : undefined;
    const query = { q: a.q.buffer, rows, firstPosition, positions: a.positions };
    let splits: DecodeSplits | undefined;
    this.gpu.run((encoder) => {
      splits = this.attendCausal(encoder, shape, query, spans, a.attention, citing);
    });
    // One readback for all of it: the partial O, its LSE and, when citing, the splits' LSEs.
    const oBytes = rows * this.shape.heads * this.shape.headDim * 4;
    const lseBytes = rows * this.shape.heads * 4;
    const slots = citing && splits ? splits.spans.reduce((n, span) => n + span.slots, 0) : 0;
    const ranges = [
      { buffer: a.attention.o, bytes: oBytes },
      { buffer: a.attention.lse, bytes: lseBytes },
      ...(citing && splits && slots > 0 ? [{ buffer: splits.lse.buffer, offset: splits.lse.offset, bytes: slots * lseBytes }] : []),
    ];
    const [o, lse, splitLse] = (await this.gpu.readMany(ranges)).map((bytes) => new Float32Array(bytes));
    if (!citing || !splits) return { o, lse };
    return { o, lse, splits: { lse: splitLse ?? new Float32Array(0), spans: splits.spans } };
  }

  private activationsFor(rows: number): Activations {
    if (rows > this.maxRows) throw new Error(`A forward piece of ${rows} rows exceeds maxRows ${this.maxRows}`);
    if (this.activations) return this.activations;
    const { gpu, config } = this;
    const r = this.maxRows;
    const qWidth = config.heads * config.headDim;
    const kvWidth = config.kvHeads * config.headDim;
    const attentionOut = gpu.tensor('f32', [r, qWidth], 'attention out');
    const layers = this.weights.layers;
    const some = (fused: boolean, of: (w: (typeof layers)[number]) => object) => layers.some((w) => ('fused' in of(w)) === fused);
    const tensorIf = (wanted: boolean, width: number, label: string) => (wanted ? gpu.tensor('f32', [r, width], label) : undefined);
    this.activations = {
      rows: r,
      hidden: gpu.tensor('f32', [r, config.hidden], 'hidden'),
      normed: gpu.tensor('f32', [r, config.hidden], 'normed'),
      q: gpu.tensor('f32', [r, qWidth], 'q'),
      qkv: tensorIf(some(true, (w) => w.qkv), qWidth + 2 * kvWidth, 'qkv'),
      k: tensorIf(some(false, (w) => w.qkv), kvWidth, 'k'),
      v: tensorIf(some(false, (w) => w.qkv), kvWidth, 'v'),
      attentionOut,
      attention: { o: attentionOut.buffer, lse: gpu.buffer(r * config.heads * 4, 'attention lse') },
      projected: gpu.tensor('f32', [r, config.hidden], 'projected'),
      gate: gpu.tensor('f32', [r, config.intermediate], 'gate'),
      up: tensorIf(some(false, (w) => w.gateUp), config.intermediate, 'up'),
      gateUp: tensorIf(some(true, (w) => w.gateUp), 2 * config.intermediate, 'gate and up'),
      ids: gpu.buffer(r * 4, 'ids'),
      positions: gpu.buffer(r * 4, 'positions'),
    };
    return this.activations;
  }

  private partialsFor(use: 'spans' | 'hosts', count: number, rows: number): AttentionOutput {
    const bytes = count * rows * this.shape.heads * this.shape.headDim * 4;
    let scratch = this.partials.get(use);
    if (!scratch || scratch.bytes < bytes) {
      scratch?.buffers.o.destroy();
      scratch?.buffers.lse.destroy();
      const buffers = {
        o: this.gpu.buffer(bytes, `attention partials o (${use})`),
        lse: this.gpu.buffer(count * rows * this.shape.heads * 4, `attention partials lse (${use})`),
      };
      scratch = { buffers, bytes };
      this.partials.set(use, scratch);
    }
    return scratch.buffers;
  }

  private decodeScratchFor(bytes: number): GPUBuffer {
    if (!this.decodeScratch || this.decodeScratch.size < bytes) {
      this.recordings.clear(); // they bind the old buffer
      this.decodeScratch?.destroy();
      this.decodeScratch = this.gpu.buffer(bytes, 'decode scratch');
    }
    return this.decodeScratch;
  }

  private logitsFor(rows: number): Tensor {
    if (!this.logitsBuffer || this.logitsBuffer.shape[0] < rows) {
      this.recordings.clear(); // they bind the old buffer
      this.logitsBuffer?.buffer.destroy();
      this.logitsBuffer = this.gpu.tensor('f32', [Math.max(rows, 1), this.config.vocab], 'logits');
    }
    return this.logitsBuffer;
  }

  destroy(): void {
    const a = this.activations;
    if (a) {
      for (const t of [a.hidden, a.normed, a.q, a.qkv, a.k, a.v, a.attentionOut, a.projected, a.gate, a.up, a.gateUp]) t?.buffer.destroy();
      for (const b of [a.attention.lse, a.ids, a.positions]) b.destroy();
    }
    for (const { buffers } of this.partials.values()) {
      buffers.o.destroy();
      buffers.lse.destroy();
    }
    this.decodeScratch?.destroy();
    this.stopCitations();
    this.remoteSplits?.destroy();
    this.logitsBuffer?.buffer.destroy();
    for (const table of this.ropeTables.values()) table.invFreq.buffer.destroy();
  }
}

/**
 * The spans of `cache`'s rows [0, end) at `layer` for attention by the query rows that end at `end` (the
 * rows just appended): for the few rows of decoding, reaching on past them (KvCache.spansReaching).
 */
function ownSpans(cache: KvCache, layer: number, end: number, rows: number): KvSpan[] {
  return rows <= decodeRows ? cache.spansReaching(layer, end, decodeSpanStep) : cache.spans(layer, 0, end);
}

/**
 * The part of `span` that a query at `firstPosition` or later can see through a sliding window: keys at
 * positions ≤ firstPosition − window are outside every such query's window. Cutting them keeps a
 * windowed layer's attention about `window` keys per query instead of the whole cache; the result is
 * the same, since the kernels mask by position anyway. The span may become empty (an anchor far
 * behind a block), which every kernel takes as "no visible key".
 */
function withinWindow(span: KvSpan, window: number | undefined, firstPosition: number): KvSpan {
  if (window === undefined) return span;
  const skip = Math.min(span.length, Math.max(0, firstPosition - window + 1 - span.firstPosition));
  return { ...span, start: span.start + skip, length: span.length - skip, firstPosition: span.firstPosition + skip };
}

/**
 * The layers whose attention citations average (by each layer's sliding window, undefined for a
 * global layer): the global layers of the second half; with none there, every global layer; with no
 * global layer at all, the second half.
 */
export function citedLayers(windows: readonly (number | undefined)[]): number[] {
  const half = Math.floor(windows.length / 2);
  const all = windows.map((_, i) => i);
  const global = all.filter((i) => windows[i] === undefined);
  const late = global.filter((i) => i >= half);
  if (late.length > 0) return late;
  return global.length > 0 ? global : all.filter((i) => i >= half);
}
