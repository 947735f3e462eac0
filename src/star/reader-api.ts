// The public face of the engine: what the app, the embeddable component and the CLI call.
// The same interface in a browser tab and in Node; the engine behind it never touches the DOM.

export type AttentionMode = 'star' | 'full';

export type { ModelLocation } from '../model/open-weight-source.ts';
import type { ModelLocation } from '../model/open-weight-source.ts';

export type { SamplingOptions } from '../model/sampling.ts';
import type { SamplingOptions } from '../model/sampling.ts';

export interface ReaderOptions {
  model: ModelLocation;
  attention?: AttentionMode;
  /** Number of hosts (one GPUDevice each, in Workers). Default 1. */
  hosts?: number;
  /** Star Attention block size b; default chosen by the planner from context length and hosts. */
  blockSize?: number;
  /** Anchor size a ≤ b; default b. */
  anchorSize?: number;
  weightType?: 'f32' | 'f16';
  /**
   * Bytes the model may use on each host's device (WebGPU does not tell a GPU's memory). With it, a
   * model whose weights do not fit is refused before its weights download, and a document whose KV
   * cache does not fit is refused before phase 1, both with the numbers.
   */
  deviceMemoryBudget?: number;
  onLoadProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

export type { WeightProgress as LoadProgress } from '../model/weight-source.ts';
import type { WeightProgress as LoadProgress } from '../model/weight-source.ts';

/** Per-document choices; default to the reader's options. */
export interface EncodeChoices {
  attention?: AttentionMode;
  blockSize?: number;
  anchorSize?: number;
  /** Use the first `hosts` of the loaded hosts. */
  hosts?: number;
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
}

export interface Reader {
  readonly model: ModelSummary;
  countTokens(text: string): number;
  /** Phase 1: encodes the document once; every later question reuses it. */
  loadDocument(
    document: string | readonly number[],
    options?: EncodeChoices & { onProgress?: (p: EncodeProgress) => void; signal?: AbortSignal },
  ): Promise<EncodeStats>;
  /**
   * Phase 2: streams the answer's text pieces; the generator's return value holds the stats. The
   * question and its answer join the conversation (follow-ups build on them) only when the answer ends
   * by itself (stoppedBy 'eos', 'stop-string' or 'max-tokens'). Aborting through `signal`, leaving the
   * loop early (`break`, `stream.return()`) or an error leaves the conversation as it was before the
   * question.
   */
  ask(question: string, options?: AskOptions): AsyncGenerator<string, AnswerStats>;
  /**
   * Forgets every question and answer and keeps the encoded document: the next question is laid out
   * as the first one (the app's "Clear chat"). Cheap: it cuts the query host's KV back to the
   * document's end, nothing is encoded again. Does nothing when no document is loaded; like every
   * other call it is refused while an answer is streaming (finish or `return()` the stream first).
   */
  resetConversation(): Promise<void>;
  dispose(): Promise<void>;
}
