// DEVELOPMENT STAND-IN — NOT THE ENGINE. A fake `Reader` for exercising the UI (progress bars, streaming,
// stop, errors, device loss, the speedup page) before and apart from the real engine. It runs no model:
// token counts are word counts, answers are canned text, timings are simulated. Only e2e/harness pages
// use it; the shipped app and the library never import it.
import { answerStream, type AnswerStats, type AnswerStream, type EncodeStats, type ModelSummary, type Reader, type ReaderOptions } from '../../src/star/reader-api.ts';

/** Faults a test injects: each is thrown once, at the named step. */
export interface StandInFault {
  at: 'load' | 'encode' | 'ask';
  name: string;
  message: string;
}

declare global {
  var __standInFaults: StandInFault[] | undefined;
  /** Milliseconds per simulated step; tests shorten or lengthen it. */
  var __standInStepMs: number | undefined;
  /** The answer's text instead of the canned one (Markdown, a hostile answer…), streamed in pieces of a few characters. */
  var __standInAnswer: string | undefined;
  /** How many times the conversation was reset (Clear chat, Regenerate, Edit). */
  var __standInResets: number | undefined;
}

const stepMs = () => globalThis.__standInStepMs ?? 40;

function takeFault(at: StandInFault['at']): Error | undefined {
  const faults = globalThis.__standInFaults ?? [];
  const index = faults.findIndex((f) => f.at === at);
  if (index < 0) return undefined;
  const [fault] = faults.splice(index, 1);
  const error = new Error(fault.message);
  error.name = fault.name;
  return error;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new DOMException('Aborted', 'AbortError'));
    });
  });
}

const contextWindow = 4096;
const kvBytesPerToken = 2 * 16 * 8 * 64 * 4; // K and V, 16 layers, 8 KV heads, head dim 64, f32

export async function createDevStandInReader(options: ReaderOptions): Promise<Reader> {
  const total = 120_000_000;
  const steps = 12;
  // As a URL model loads: one file downloads, then its weights are placed on the GPU.
  const file = 'model.safetensors';
  options.onLoadProgress?.({ type: 'initiate', file });
  options.onLoadProgress?.({ type: 'download', file, bytesTotal: total });
  for (let i = 1; i <= steps; i++) {
    await sleep(stepMs(), options.signal);
    options.onLoadProgress?.({ type: 'progress', file, bytesDone: (total * i) / steps, bytesTotal: total });
  }
  options.onLoadProgress?.({ type: 'done', file, bytes: total });
  for (let i = 1; i <= 4; i++) {
    options.onLoadProgress?.({ type: 'place', bytesDone: (total * i) / 4, bytesTotal: total, tensor: `model.layers.${i}.mlp.up_proj.weight` });
  }
  const fault = takeFault('load');
  if (fault) throw fault;
  return new DevStandInReader(options);
}

class DevStandInReader implements Reader {
  readonly model: ModelSummary = {
    name: 'Development stand-in (no model)',
    modelType: 'stand-in',
    parameters: 60_000_000,
    contextWindow,
    weightBytes: 120_000_000,
    adapter: 'none',
  };
  private documentTokens = 0;

  constructor(private readonly options: ReaderOptions) {}

  countTokens(text: string): number {
    const words = text.match(/\S+/g);
    return words ? words.length : 0;
  }

  async loadDocument(
    document: string | readonly number[],
    options: { onProgress?: (p: { tokensDone: number; tokensTotal: number; elapsedMs: number }) => void; signal?: AbortSignal } = {},
  ): Promise<EncodeStats> {
    const n = typeof document === 'string' ? this.countTokens(document) : document.length;
    const attention = this.options.attention ?? 'star';
    const hosts = this.options.hosts ?? 1;
    // Full attention is one block of the whole context, as the real engine reports it.
    const b = attention === 'full' ? n : Math.min(n, this.options.blockSize ?? Math.max(64, Math.ceil(n / (4 * hosts))));
    const blocks = Math.max(1, Math.ceil(n / b));
    const fullPairs = (n * (n + 1)) / 2;
    const starPairs = attention === 'full' ? fullPairs : (b * (b + 1)) / 2 + (n - b) * 1.5 * b;
    // Simulated time: linear layers plus attention pairs, spread over the hosts.
    const encodeMs = (n * 0.02 + starPairs * 2e-5) / (attention === 'full' ? 1 : hosts) + 5;
    const steps = Math.max(2, Math.min(blocks, 8));
    for (let i = 1; i <= steps; i++) {
      await sleep(stepMs(), options.signal);
      options.onProgress?.({ tokensDone: Math.round((n * i) / steps), tokensTotal: n, elapsedMs: (encodeMs * i) / steps });
    }
    const fault = takeFault('encode');
    if (fault) throw fault;
    this.documentTokens = n;
    const kvPerHost = Array.from({ length: hosts }, () => Math.round((n * kvBytesPerToken) / hosts));
    return {
      tokens: n,
      blocks,
      blockSize: b,
      hosts,
      attention,
      encodeMs,
      tokensPerSecond: (n * 1000) / encodeMs,
      kvBytesPerHost: kvPerHost,
      attentionPairs: starPairs,
      fullAttentionPairs: fullPairs,
      attentionFlops: starPairs * 4 * 64 * 14 * 24,
      fullAttentionFlops: fullPairs * 4 * 64 * 14 * 24,
    };
  }

  ask(question: string, options: { maxTokens?: number; signal?: AbortSignal } = {}): AnswerStream {
    return answerStream(this.answer(question, options));
  }

  private async *answer(question: string, options: { maxTokens?: number; signal?: AbortSignal }): AsyncGenerator<string, AnswerStats> {
    const canned = `(stand-in answer, no model ran) You asked: “${question}”. The document has ${this.documentTokens} tokens. This text streams word by word so the UI's streaming, stop and copy can be tried.`;
    const given = globalThis.__standInAnswer;
    const words = given === undefined ? canned.split(' ') : (given.match(/[\s\S]{1,6}/g) ?? []);
    const separator = given === undefined ? ' ' : '';
    const max = Math.min(options.maxTokens ?? 512, words.length);
    let generated = 0;
    for (; generated < max; generated++) {
      if (options.signal?.aborted) break;
      await sleep(stepMs()).catch(() => undefined);
      const fault = generated === 3 ? takeFault('ask') : undefined;
      if (fault) throw fault;
      yield (generated ? separator : '') + words[generated];
    }
    const aborted = options.signal?.aborted ?? false;
    return {
      promptTokens: this.countTokens(question) + 12,
      generatedTokens: generated,
      queryMs: 42,
      // As the engine does: a stopped answer reports no decode rate (the UI measures it from the stream).
      decodeTokensPerSecond: aborted ? 0 : 1000 / stepMs(),
      stoppedBy: aborted ? 'abort' : generated === words.length ? 'eos' : 'max-tokens',
    };
  }

  /** The stand-in keeps no conversation (its answers never depend on earlier ones); resets are counted for the tests. */
  async resetConversation(): Promise<void> {
    globalThis.__standInResets = (globalThis.__standInResets ?? 0) + 1;
  }

  async dispose(): Promise<void> {}
}
