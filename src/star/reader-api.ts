// The public face of the engine: what the app, the embeddable component and the CLI call.
// The same interface in a browser tab and in Node; the engine behind it never touches the DOM.

export type AttentionMode = 'star' | 'full';

export type { ModelSource } from '../model/source/model-source.ts';
import type { ModelSource } from '../model/source/model-source.ts';
import type { WeightType } from '../model/weights.ts';
import type { DownloadEvent, WeightProgress } from '../model/load-progress.ts';
import type { KvType } from '../gpu/kernels/kv-store.ts';

export type { SamplingOptions } from '../model/sampling.ts';
import type { SamplingOptions } from '../model/sampling.ts';

/** The reader's options; its EncodeChoices are every document's defaults. */
export interface ReaderOptions extends EncodeChoices {
  model: ModelSource;
  /** Number of hosts to open (one GPUDevice each, in Workers). Default 1. */
  hosts?: number;
  /**
   * How weights are kept on the GPU: f32; bf16 or f16 (16-bit files kept as they are on disk); q8 or q4
   * (quantized when loaded, groups of 32); q4g128 (q4 in groups of 128: 4.25 bits a weight instead of
   * 5, a little less accurate). Pre-quantized files (GPTQ/AWQ, GGUF) are recognised by their contents.
   */
  weightType?: WeightType;
  /**
   * Keep the input embedding in CPU memory and gather each piece's rows there: saves vocab × hidden
   * weights of GPU memory (Llama-3.1-8B: 0.28 GB in q4g128) on a model whose lm_head is not tied to
   * it; a tied model keeps it on the GPU (its lm_head reads it). Greedy answers are then not queued a
   * token ahead (the next id must reach the CPU first). Default false.
   */
  cpuEmbedding?: boolean;
  /** The KV cache's element type: f16 (default; half the memory, on every adapter) or f32 (exact). */
  kvType?: KvType;
  /**
   * Bytes the model may use on each host's device (WebGPU does not tell a GPU's memory). With it, a
   * model whose weights do not fit is refused before its weights download, and a document whose KV
   * cache does not fit is refused before phase 1, both with the numbers.
   */
  deviceMemoryBudget?: number;
  onLoadProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

/** The weights being placed on the GPU (after every file is downloaded): bytes placed so far, and the tensor. */
export interface PlacementEvent extends WeightProgress {
  type: 'place';
}

/**
 * ReaderOptions.onLoadProgress: each file's download as it happens (initiate, download, progress,
 * done; a model read from disk, picked files or an already cached URL sends none), then the weights'
 * placement on the GPU. `loadProgressBar()` folds them into one bar per phase.
 */
export type LoadProgress = DownloadEvent | PlacementEvent;
export type { DownloadEvent };

/** One progress bar per phase of loading: the downloads summed over files, then the placement. */
export interface LoadBar {
  phase: 'download' | 'place';
  bytesDone: number;
  bytesTotal: number;
  /** "downloading <file>", "continuing <file>" (a download resumed) or the tensor being placed. */
  current: string;
}

/** A fold from LoadProgress events to the bar to show: call it on every event. */
export function loadProgressBar(): (event: LoadProgress) => LoadBar {
  const files = new Map<string, { done: number; total: number; resumed: boolean }>();
  return (event) => {
    if (event.type === 'place') return { phase: 'place', bytesDone: event.bytesDone, bytesTotal: event.bytesTotal, current: event.tensor };
    let file = files.get(event.file);
    if (!file) files.set(event.file, (file = { done: 0, total: 0, resumed: false }));
    if (event.type === 'download') {
      file.done = event.resumedFrom ?? 0;
      file.total = event.bytesTotal ?? file.done;
      file.resumed = event.resumedFrom !== undefined;
    } else if (event.type === 'progress') {
      file.done = event.bytesDone;
      file.total = event.bytesTotal;
    } else if (event.type === 'done') {
      file.done = file.total = event.bytes;
    }
    let bytesDone = 0;
    let bytesTotal = 0;
    for (const f of files.values()) {
      bytesDone += f.done;
      bytesTotal += f.total;
    }
    return { phase: 'download', bytesDone, bytesTotal, current: `${file.resumed ? 'continuing' : 'downloading'} ${event.file}` };
  };
}

/** How a document is encoded; each defaults to the reader's options, and each loadDocument may choose anew. */
export interface EncodeChoices {
  /** Star Attention or the exact full-attention baseline (default star). */
  attention?: AttentionMode;
  /** Star Attention block size b; default chosen by the planner from context length and hosts. */
  blockSize?: number;
  /** Anchor size a ≤ b; default b. */
  anchorSize?: number;
  /** Use the first `hosts` of the loaded hosts. */
  hosts?: number;
}

export interface LoadDocumentOptions extends EncodeChoices {
  onProgress?: (p: EncodeProgress) => void;
  signal?: AbortSignal;
}

export interface EncodeProgress {
  tokensDone: number;
  tokensTotal: number;
  elapsedMs: number;
}

export interface EncodeStats {
  tokens: number;
  blocks: number;
  blockSize: number;
  hosts: number;
  attention: AttentionMode;
  encodeMs: number;
  tokensPerSecond: number;
  /** KV cache bytes held by each host. */
  kvBytesPerHost: number[];
  /** Query-key pairs the attention computed per head and layer, and what full attention would have computed. */
  attentionPairs: number;
  fullAttentionPairs: number;
  /** Phase 1's attention FLOPs (QKᵀ and PV: 4·headDim per pair, every head and layer), and full attention's. */
  attentionFlops: number;
  fullAttentionFlops: number;
}

export interface AnswerStats {
  promptTokens: number;
  generatedTokens: number;
  /** Time to encode the question (phase 2 prefill) and produce the first token. */
  queryMs: number;
  decodeTokensPerSecond: number;
  stoppedBy: 'eos' | 'stop-string' | 'max-tokens' | 'abort';
  /**
   * Where in the document the answer drew from, by the model's own attention (AskOptions.citations);
   * undefined when turned off, for an answer of no decoded token, or when the document's tokens could
   * not be mapped to its text.
   */
  citations?: AnswerCitations;
}

/** A passage of the document: characters [start, end) of the text given to loadDocument, and its share. */
export interface CitedPassage {
  start: number;
  end: number;
  /** Its share of the answer's attention (mean over the answer's tokens, heads and cited layers), 0…1. */
  share: number;
}

export interface AnswerCitations {
  /** The passages with the largest shares, largest first. */
  passages: CitedPassage[];
  /** Every span of the document in order, its whole text covered: where the attention went (a heat map). */
  spans: CitedPassage[];
  /** The share that went to the document at all; the rest went to the prompt around it, the question, the answer. */
  documentShare: number;
  /** Decoded tokens and layers averaged. */
  tokens: number;
  layers: number;
}

export interface CitationOptions {
  /** Passages listed (default 3). */
  top?: number;
  /** Tokens per span, a multiple of 16 (default 256). */
  spanTokens?: number;
}

export interface ModelSummary {
  name: string;
  modelType: string;
  parameters: number;
  contextWindow: number;
  weightBytes: number;
  adapter: string;
}

export interface AskOptions {
  maxTokens?: number;
  sampling?: SamplingOptions;
  signal?: AbortSignal;
  /**
   * Text the answer starts with, fed after the assistant header as part of the query (phase 2) and not
   * streamed back: e.g. RULER's "The special magic number for X mentioned in the provided text is".
   */
  answerPrefix?: string;
  /**
   * Citations (AnswerStats.citations): which spans of the document the answer's tokens attended to,
   * recorded on the GPU during decoding and read back once, at the end. On by default; false turns
   * them off (decoding is then exactly as without them).
   */
  citations?: boolean | CitationOptions;
}

/**
 * An answer as it streams: `for await (const text of stream)` gives its pieces, and `stream.stats`
 * holds its stats once the loop is over (undefined before). The generator's return value is the same
 * stats object.
 */
export interface AnswerStream extends AsyncGenerator<string, AnswerStats> {
  readonly stats: AnswerStats | undefined;
}

/** Makes an AnswerStream of an answer generator: for Reader implementations. */
export function answerStream(answer: AsyncGenerator<string, AnswerStats>): AnswerStream {
  let stats: AnswerStats | undefined;
  const seen = async (step: Promise<IteratorResult<string, AnswerStats>>) => {
    const result = await step;
    if (result.done) stats = result.value;
    return result;
  };
  const stream: AnswerStream = {
    get stats() {
      return stats;
    },
    next: () => seen(answer.next()),
    return: (value) => seen(answer.return(value)),
    throw: (error) => seen(answer.throw(error)),
    [Symbol.asyncIterator]: () => stream,
  };
  return stream;
}

export type { StoreUsage } from './document-store.ts';
import type { StoreUsage } from './document-store.ts';

/** A saved document as a list shows it (see Reader.listSavedDocuments). */
export interface SavedDocumentSummary {
  id: string;
  /** Empty for an entry whose save never finished. */
  name: string;
  /** Where the model that encoded it was read from, and its architecture. */
  model: string;
  modelType: string;
  weightType: string;
  tokens: number;
  attention: AttentionMode | undefined;
  hosts: number;
  /** Bytes on disk. */
  bytes: number;
  /** ISO 8601; empty for an incomplete entry. */
  savedAt: string;
  /** Why this reader cannot open it (incomplete, corrupted, another model or settings); undefined when it can. */
  problem?: string;
}

export interface ReopenStats {
  tokens: number;
  /** Reading every shard back onto the GPUs: what reopening costs instead of phase 1. */
  reopenMs: number;
  /** The saved document's name and text (as it was read: truncated documents are saved truncated). */
  name: string;
  document: string;
  /** Phase 1's stats from when it was read and saved. */
  encoded: EncodeStats;
}

export interface Reader {
  readonly model: ModelSummary;
  countTokens(text: string): number;
  /** Phase 1: encodes the document once; every later question reuses it. */
  loadDocument(document: string | readonly number[], options?: LoadDocumentOptions): Promise<EncodeStats>;
  /**
   * Phase 2: streams the answer's text pieces; its stats are the stream's `stats` once the loop ends
   * (and the generator's return value, for code that drives `next()` itself). The
   * question and its answer join the conversation (follow-ups build on them) only when the answer ends
   * by itself (stoppedBy 'eos', 'stop-string' or 'max-tokens'). Aborting through `signal`, leaving the
   * loop early (`break`, `stream.return()`) or an error leaves the conversation as it was before the
   * question.
   */
  ask(question: string, options?: AskOptions): AnswerStream;
  /**
   * Forgets every question and answer and keeps the encoded document: the next question is laid out
   * as the first one (the app's "Clear chat"). Cheap: it cuts the query host's KV back to the
   * document's end, nothing is encoded again. Does nothing when no document is loaded; like every
   * other call it is refused while an answer is streaming (finish or `return()` the stream first).
   */
  resetConversation(): Promise<void>;
  dispose(): Promise<void>;
}

/** A reader that also keeps encoded documents: what createReader returns. */
export interface SavingReader extends Reader {
  /**
   * Saved documents (a browser keeps them in OPFS; Node needs `documentStore`). saveDocument keeps
   * the encoded document — every host's KV, the token ids, the block plan, the model's identity and
   * the settings — not the conversation after it. openSavedDocument reopens one without phase 1,
   * starting a fresh conversation on it, or refuses with the reason (another model, weight type or
   * settings; an incomplete or corrupted entry) and leaves the open document as it was.
   */
  saveDocument(name: string): Promise<SavedDocumentSummary>;
  openSavedDocument(id: string, choices?: EncodeChoices): Promise<ReopenStats>;
  listSavedDocuments(): Promise<SavedDocumentSummary[]>;
  deleteSavedDocument(id: string): Promise<void>;
  /** Space the saved documents take, and the browser's quota where it tells. */
  savedDocumentsUsage(): Promise<StoreUsage>;
}

/** Whether `reader` keeps documents (stand-ins and wrappers may not). */
export function canSaveDocuments(reader: Reader): reader is SavingReader {
  return typeof (reader as Partial<SavingReader>).saveDocument === 'function';
}
