// Will this model and this much context fit on the device? Computed from config.json alone, before
// any download: weights (as loadWeights lays them out, in any weight format: bytes per weight with the
// quantized formats' scales counted; an input embedding gathered on the CPU counted apart), the KV
// cache (f32 or f16), and the prefill scratch the Transformer allocates. WebGPU does not tell how much memory a device has, so the budget is the
// caller's (a user setting, or an estimate); without one only the per-buffer limits are checked.
import { weightBytes as formatBytes, type WeightFormat } from '../gpu/kernels/weight-format.ts';
import type { ModelConfig } from './config.ts';
import { embeddingOnCpu, expectedTensors, type WeightType } from './weights.ts';

export type { KvType } from '../gpu/kernels/kv-store.ts';
import { kvElementBytes, type KvType } from '../gpu/kernels/kv-store.ts';

export interface MemoryLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface MemoryPlanOptions {
  /** Document tokens whose KV this device keeps (0: weights and scratch only). */
  contextTokens: number;
  /** KV room kept beside them for the questions and answers (the query host's). */
  conversationTokens?: number;
  weightType: WeightType;
  /**
   * Formats of particular matrices that differ from weightType: a pre-quantized checkpoint's (GPTQ/AWQ
   * layers are q4, its embeddings 16-bit; a GGUF file's per tensor). Absent names take weightType.
   */
  tensorFormats?: ReadonlyMap<string, WeightFormat>;
  /** The KV cache's element type (default f32). */
  kvType?: KvType;
  /** The input embedding gathered on the CPU (LoadWeightsOptions.cpuEmbedding): off the GPU for an untied model. */
  cpuEmbedding?: boolean;
  limits: MemoryLimits;
  /** Bytes this model may use on the device; undefined when unknown. */
  deviceMemoryBudget?: number;
  /** Rows of one prefill piece (Transformer's maxRows): the activation scratch is sized for it. */
  prefillRows?: number;
}

export interface MemoryPlan {
  /** GPU bytes of the weights. */
  weightBytes: number;
  /** CPU bytes of the weights: the input embedding when it is gathered on the CPU, else 0. */
  cpuWeightBytes: number;
  /** 2 (K and V) · layers · kvHeads · headDim · 4 (f32) or 2 (f16) bytes. */
  kvBytesPerToken: number;
  kvBytes: number;
  activationBytes: number;
  totalBytes: number;
  fits: boolean;
  /** Largest context the budget holds next to the weights, scratch and conversation room; undefined without a budget. */
  maxContextTokens: number | undefined;
  /** Why it does not fit, with the numbers; undefined when it fits. */
  message: string | undefined;
}

/**
 * Rows of a prefill piece before GPUs took larger ones: CPU adapters' pieces, the fewest a GPU's
 * pieces shrink to over a long cache, and a GPU's where its larger pieces would not fit a memory budget.
 */
export const basePieceRows = 512;

/**
 * Bytes of the Transformer's per-piece buffers for `rows` rows: hidden, normed, projected, q (rotated),
 * attention output, attention lse, the fused q, k, v projection's rows, the fused gate and up
 * projection's rows and the gated values, ids, positions. (Projections kept apart, in formats that
 * differ within a layer, take less: k and v instead of q, k, v; gate and up only.)
 */
function pieceScratchBytes(config: ModelConfig, rows: number): number {
  const qWidth = config.heads * config.headDim;
  const kvWidth = config.kvHeads * config.headDim;
  const scratchRows = [3 * config.hidden, 2 * qWidth, config.heads, qWidth + 2 * kvWidth, 3 * config.intermediate, 2];
  return rows * 4 * scratchRows.reduce((a, b) => a + b, 0);
}

/** Bytes of a piece's widest buffer, which one storage binding must hold. */
function widestPieceBuffer(config: ModelConfig, rows: number): number {
  return rows * 4 * Math.max(config.hidden, config.heads * config.headDim + 2 * config.kvHeads * config.headDim, 2 * config.intermediate);
}

/** Piece sizes a GPU takes by default, largest first (CPU adapters take the smallest). */
const gpuPieceRows = [2048, 1024, 512];
/** The per-piece scratch a GPU's default piece size may take (Llama-3.2-1B: 311 MB at 2,048 rows). */
const gpuPieceScratchBytes = 320e6;
/**
 * Rows × weights of one layer's matrices a GPU's default piece may take: what 2,048 rows of
 * Llama-3.2-1B (61 M a layer) take, which bounds the work of one submission (a piece submits a layer
 * at a time) whatever the model: Llama 3 8B (218 M a layer) keeps 512 rows, as before.
 */
const gpuPieceLayerWork = 2048 * 61e6;

/** Elements of one layer's weight matrices: q, k, v, o and a gated MLP's three. */
function layerMatrixElements(config: ModelConfig): number {
  const qWidth = config.heads * config.headDim;
  const kvWidth = config.kvHeads * config.headDim;
  return config.hidden * (qWidth + 2 * kvWidth) + qWidth * config.hidden + 3 * config.hidden * config.intermediate;
}

/** What the default piece size depends on of a device. */
export interface PieceDevice {
  runsOnCpu: boolean;
  maxStorageBufferBindingSize: number;
}

/**
 * Rows of one prefill piece by default (Transformer's maxRows). On a GPU, the most of 2,048, 1,024 or
 * 512 whose one-layer work stays within 2,048 rows of Llama-3.2-1B's (a laptop GPU's submission stays
 * short), whose scratch stays within 320 MB and whose widest buffer fits a storage binding: on an H100,
 * pieces of 2,048 rows encoded Qwen2.5-0.5B's 16K tokens with Star Attention (b = 1,024) in 695 ms
 * against 1,965 with 512, and 64K (b = 4,096) in 6.5 s against 9.4 (bench/results/gpu-2026-12-08-s11):
 * fewer, larger dispatches fill the GPU, and blocks up to a piece go through the one-pass block+anchor
 * kernel. CPU adapters keep 512 rows.
 */
export function defaultPieceRows(config: ModelConfig, device: PieceDevice): number {
  if (device.runsOnCpu) return basePieceRows;
  const fits = (rows: number) =>
    rows * layerMatrixElements(config) <= gpuPieceLayerWork &&
    pieceScratchBytes(config, rows) <= gpuPieceScratchBytes &&
    widestPieceBuffer(config, rows) <= device.maxStorageBufferBindingSize;
  return gpuPieceRows.find(fits) ?? basePieceRows;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export function planMemory(config: ModelConfig, options: MemoryPlanOptions): MemoryPlan {
  const { contextTokens, weightType, limits, deviceMemoryBudget } = options;
  const conversationTokens = options.conversationTokens ?? 0;
  const rows = options.prefillRows ?? basePieceRows;
  const binding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const problems: string[] = [];

  // Weights: matrices in their format (data and scales), split by rows to fit a binding; norm weights
  // and biases in f32. Parts are whole rows, and rows of every format are whole 4-byte words.
  let weightBytes = 0;
  let cpuWeightBytes = 0;
  const cpuEmbedding = embeddingOnCpu(config, options.cpuEmbedding);
  for (const tensor of expectedTensors(config)) {
    const format = tensor.type === 'matrix' ? (options.tensorFormats?.get(tensor.name) ?? weightType) : 'f32';
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    const bytes = formatBytes(format, elements);
    if (cpuEmbedding && tensor.name === 'model.embed_tokens.weight') {
      cpuWeightBytes += bytes.data + bytes.scales;
      continue;
    }
    weightBytes += bytes.data + bytes.scales;
    const rowBytes = formatBytes(format, tensor.shape[tensor.shape.length - 1]).data;
    if (rowBytes > binding) problems.push(`one row of ${tensor.name} (${mb(rowBytes)}) exceeds a storage binding (${mb(binding)})`);
  }

  const kvWidth = config.kvHeads * config.headDim;
  const kvType = options.kvType ?? 'f32';
  const kvBytesPerToken = 2 * config.layers * kvWidth * kvElementBytes(kvType);
  const kvBytes = (contextTokens + conversationTokens) * kvBytesPerToken;

  // The piece's buffers and one row of logits.
  const activationBytes = pieceScratchBytes(config, rows) + config.vocab * 4;
  const widest = widestPieceBuffer(config, rows);
  if (widest > binding) {
    problems.push(`a prefill piece of ${rows} rows needs ${mb(widest)} buffers, more than a storage binding (${mb(binding)}): use fewer rows`);
  }

  const totalBytes = weightBytes + kvBytes + activationBytes;
  let maxContextTokens: number | undefined;
  if (deviceMemoryBudget !== undefined) {
    maxContextTokens = Math.max(0, Math.floor((deviceMemoryBudget - weightBytes - activationBytes) / kvBytesPerToken) - conversationTokens);
    if (totalBytes > deviceMemoryBudget) {
      const conversation = conversationTokens > 0 ? ` and ${conversationTokens} kept for the conversation` : '';
      const kv = kvBytes > 0 ? `, ${kvType} KV cache for ${contextTokens} tokens${conversation} ${mb(kvBytes)} (${kvBytesPerToken} bytes per token)` : '';
      const where = cpuEmbedding ? `, the input embedding's ${mb(cpuWeightBytes)} on the CPU` : '';
      const parts = `weights ${mb(weightBytes)} (${weightType}${where})${kv}, prefill scratch ${mb(activationBytes)}`;
      const advice =
        maxContextTokens > 0
          ? `the largest context that fits is ${maxContextTokens} tokens`
          : `even the weights and scratch alone do not fit${smallerAdvice(weightType, config.tieWordEmbeddings || cpuEmbedding)}`;
      const kvAdvice = kvType === 'f32' && maxContextTokens > 0 ? ' (an f16 KV cache holds twice as many)' : '';
      problems.unshift(`needs ${mb(totalBytes)} (${parts}) but the memory budget is ${mb(deviceMemoryBudget)}: ${advice}${kvAdvice}`);
    }
  }
  return {
    weightBytes,
    cpuWeightBytes,
    kvBytesPerToken,
    kvBytes,
    activationBytes,
    totalBytes,
    fits: problems.length === 0,
    maxContextTokens,
    message: problems.length ? `This model does not fit: ${problems.join('; ')}` : undefined,
  };
}

/** What to try when the weights alone are too big: the next smaller weight type, then the CPU embedding. */
function smallerAdvice(weightType: WeightType, embeddingSettled: boolean): string {
  if (weightType === 'f32') return ': try bf16 or f16 weights';
  if (weightType === 'bf16' || weightType === 'f16') return ': try q8 or q4 weights';
  if (weightType === 'q8') return ': try q4 or q4g128 weights';
  if (weightType === 'q4') return `: try q4g128 weights${embeddingSettled ? '' : ' or the input embedding on the CPU'}`;
  return embeddingSettled ? '' : ': try the input embedding on the CPU';
}

/**
 * The rows of a host's prefill pieces: those asked for, else defaultPieceRows, else, where a GPU's
 * larger pieces would not fit the memory budget (`options`' deviceMemoryBudget), the base size.
 */
export function pieceRowsFor(config: ModelConfig, options: Omit<MemoryPlanOptions, 'prefillRows'>, device: PieceDevice, asked?: number): number {
  if (asked !== undefined) return asked;
  const rows = defaultPieceRows(config, device);
  return rows > basePieceRows && !planMemory(config, { ...options, prefillRows: rows }).fits ? basePieceRows : rows;
}
