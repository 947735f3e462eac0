// The reader: documents and questions as text, on the Star Attention engine. It tokenizes with the
// model's tokenizer, lays the prompt out with its chat template (phase 1: everything before the
// question; phase 2: the question and the assistant header), samples, streams text, and keeps the
// conversation so follow-up questions append to the query host's KV.
import { StarEngine, type EncodeOptions, type HostFactory } from './engine.ts';
import { openLocalHost } from './local-host.ts';
import { openWorkerHost } from './worker-host.ts';
import { openWeightSource } from '../model/open-weight-source.ts';
import type { WeightSource } from '../model/weight-source.ts';
import { readTensorIndex } from '../model/safetensors.ts';
import { createTokenizer, type TextTokenizer } from '../model/tokenizer.ts';
import {
  chatTemplateFromConfig,
  followUpQuery,
  plainDocumentPrompt,
  plainFollowUpQuery,
  splitDocumentPrompt,
  PLAIN_STOP_STRINGS,
  type ChatHistory,
  type ChatTemplate,
  type DocumentPromptInput,
} from '../model/chat-prompt.ts';
import { parseGenerationConfig, type GenerationConfig } from '../model/generation-config.ts';
import { createSampler, createStopChecker } from '../model/sampling.ts';
import type { ModelConfig } from '../model/config.ts';
import type {
  AnswerStats,
  EncodeChoices,
  EncodeProgress,
  EncodeStats,
  ModelSummary,
  ReaderOptions,
  AskOptions,
  ReopenStats,
  SavedDocumentSummary,
  SavingReader,
  StoreUsage,
} from './reader-api.ts';
import { DocumentLibrary, type OpenDocument } from './saved-documents.ts';
import type { DocumentStore } from './document-store.ts';
import { hasOpfs, opfsDocumentStore } from './document-store.opfs.ts';

export interface CreateReaderOptions extends ReaderOptions {
  /** Default: Workers in a browser, in-process hosts in Node. */
  openHost?: HostFactory;
  /** System prompt placed before the document. */
  system?: string;
  /** Where saved documents are kept. Default: OPFS in a browser, none in Node (folderDocumentStore). */
  documentStore?: DocumentStore;
}

export class ReaderError extends Error {
  override name = 'ReaderError';
}

export async function createReader(options: CreateReaderOptions): Promise<SavingReader> {
  const downloads = new Map<string, { bytesDone: number; bytesTotal: number }>();
  const source = openWeightSource(options.model, {
    signal: options.signal,
    onDownload: ({ file, bytesDone, bytesTotal, resumedFrom }) => {
      downloads.set(file, { bytesDone, bytesTotal });
      let done = 0;
      let total = 0;
      for (const d of downloads.values()) {
        done += d.bytesDone;
        total += d.bytesTotal;
      }
      options.onLoadProgress?.({ bytesDone: done, bytesTotal: total, tensor: `${resumedFrom ? 'continuing' : 'downloading'} ${file}` });
    },
  });
  const text = await loadTextFiles(source);
  if (options.model.kind === 'url' && typeof caches !== 'undefined') {
    // Download every weight file once, here, into the Cache API that every host then reads from:
    // hosts opening at the same time would otherwise each download the model.
    await readTensorIndex(source);
  }
  options.signal?.throwIfAborted();
  const engine = await StarEngine.create({
    ...options,
    onProgress: options.onLoadProgress,
    openHost: options.openHost ?? (typeof window !== 'undefined' && typeof Worker !== 'undefined' ? openWorkerHost : openLocalHost),
  });
  const store = options.documentStore ?? (hasOpfs() ? opfsDocumentStore() : undefined);
  return new TextReader(engine, text, summarize(source.name, engine), options.system, new DocumentLibrary(engine, source, store, options));
}

interface TextFiles {
  tokenizer: TextTokenizer;
  template: ChatTemplate | undefined;
  generation: GenerationConfig;
}

async function loadTextFiles(source: WeightSource): Promise<TextFiles> {
  const tokenizerJson = await source.readJson('tokenizer.json');
  if (tokenizerJson === undefined) {
    throw new ReaderError(`${source.name} has no tokenizer.json: the reader needs the model's tokenizer (the CLI's score works on token ids without it)`);
  }
  const tokenizerConfig = await source.readJson('tokenizer_config.json');
  const templateFile = await readOptionalText(source, 'chat_template.jinja');
  const tokenizer = createTokenizer(tokenizerJson, tokenizerConfig);
  const template = chatTemplateFromConfig(tokenizerConfig, { source: templateFile, variables: { enable_thinking: false } });
  const generation = parseGenerationConfig((await source.readJson('generation_config.json')) ?? {});
  if (generation.eosTokenIds.length === 0 && tokenizer.eosTokenId !== undefined) generation.eosTokenIds.push(tokenizer.eosTokenId);
  return { tokenizer, template, generation };
}

async function readOptionalText(source: WeightSource, path: string): Promise<string | undefined> {
  let size: number;
  try {
    size = await source.size(path);
  } catch {
    return undefined;
  }
  return new TextDecoder().decode(await source.read(path, 0, size));
}

function summarize(name: string, engine: StarEngine): ModelSummary {
  const c = engine.info.config;
  return {
    name,
    modelType: c.modelType,
    parameters: parameterCount(c),
    contextWindow: c.maxPositionEmbeddings,
    weightBytes: engine.info.weightBytes,
    adapter: engine.info.adapter.description,
  };
}

function parameterCount(c: ModelConfig): number {
  const attention = c.hidden * c.heads * c.headDim * 2 + c.hidden * c.kvHeads * c.headDim * 2;
  const mlp = 3 * c.hidden * c.intermediate;
  const embeddings = c.vocab * c.hidden * (c.tieWordEmbeddings ? 1 : 2);
  return c.layers * (attention + mlp + 2 * c.hidden) + embeddings + c.hidden;
}

class TextReader implements SavingReader {
  private history: ChatHistory | undefined;
  /** Every id in the query host's context so far, for the repetition penalty. */
  private ids: number[] = [];
  /** The open document as saveDocument keeps it (the conversation after it is not saved). */
  private document: OpenDocument | undefined;
  private busy = false;

  constructor(
    private readonly engine: StarEngine,
    private readonly text: TextFiles,
    readonly model: ModelSummary,
    private readonly system: string | undefined,
    private readonly library: DocumentLibrary,
  ) {}

  countTokens(text: string): number {
    return this.text.tokenizer.encode(text, { addSpecialTokens: false }).length;
  }

  async loadDocument(
    document: string | readonly number[],
    options: EncodeOptions & { onProgress?: (p: EncodeProgress) => void; signal?: AbortSignal } = {},
  ): Promise<EncodeStats> {
    return this.exclusive(async () => {
      this.history = undefined;
      this.ids = [];
      this.document = undefined;
      let ids: number[];
      let context: string;
      if (typeof document === 'string') {
        // The context does not depend on the question: any question finds the split.
        const prompt = this.layout({ system: this.system, document, question: '?' });
        context = prompt.context;
        ids = this.text.tokenizer.encode(context, { addSpecialTokens: prompt.addSpecialTokens });
      } else {
        ids = [...document];
        context = this.text.tokenizer.decode(ids);
      }
      const stats = await this.engine.encode(ids, options);
      this.ids = ids;
      this.history = { system: this.system, document: typeof document === 'string' ? document : context, turns: [], fed: context };
      this.document = { tokenIds: [...ids], state: { system: this.system, document: this.history.document, fed: context, encoded: stats } };
      return stats;
    });
  }

  async saveDocument(name: string): Promise<SavedDocumentSummary> {
    return this.exclusive(async () => {
      if (!this.document) throw new ReaderError('Load a document before saving it');
      return this.library.save(name, this.document);
    });
  }

  /** Reopens a saved document: a fresh conversation on it, as right after loadDocument. */
  async openSavedDocument(id: string, choices: EncodeChoices = {}): Promise<ReopenStats> {
    return this.exclusive(async () => {
      const { manifest, stats } = await this.library.open(id, choices);
      const state = manifest.reader;
      this.ids = [...manifest.tokenIds];
      this.history = { system: state.system, document: state.document, turns: [], fed: state.fed };
      this.document = { tokenIds: manifest.tokenIds, state };
      return stats;
    });
  }

  listSavedDocuments(): Promise<SavedDocumentSummary[]> {
    return this.library.list();
  }

  deleteSavedDocument(id: string): Promise<void> {
    return this.library.remove(id);
  }

  savedDocumentsUsage(): Promise<StoreUsage> {
    return this.library.usage();
  }

  async *ask(question: string, options: AskOptions = {}): AsyncGenerator<string, AnswerStats> {
    const history = this.history;
    if (!history) throw new ReaderError('Load a document before asking');
    if (this.busy) throw new ReaderError('The reader is busy with another request');
    this.busy = true;
    try {
      const { tokenizer, generation } = this.text;
      const answerPrefix = options.answerPrefix ?? '';
      const queryText = this.queryText(history, question) + answerPrefix;
      const queryIds = tokenizer.encode(queryText, { addSpecialTokens: false });
      const mark = await this.engine.checkpoint();
      const idsBefore = this.ids.length;
      // Embedding rows past the tokenizer's vocabulary (Qwen pads its embedding) are never sampled.
      const vocab = Math.min(tokenizer.vocabSize, this.engine.info.config.vocab);
      const sampler = createSampler({ ...generation.sampling, ...options.sampling }, vocab);
      const stops = createStopChecker(this.text.template ? [] : PLAIN_STOP_STRINGS);
      const decoder = tokenizer.createStreamDecoder({ skipSpecialTokens: true });
      const eos = new Set(generation.eosTokenIds);
      const maxTokens = options.maxTokens ?? generation.maxNewTokens ?? 512;
      const started = performance.now();
      let firstTokenAt = started;
      const generated: number[] = [];
      let answer = '';
      let stoppedBy: AnswerStats['stoppedBy'] = 'max-tokens';
      try {
        let logits = await this.engine.feed(queryIds);
        this.ids.push(...queryIds);
        while (generated.length < maxTokens) {
          options.signal?.throwIfAborted();
          const next = sampler.sample(logits, this.ids);
          if (generated.length === 0) firstTokenAt = performance.now();
          if (eos.has(next)) {
            stoppedBy = 'eos';
            break;
          }
          generated.push(next);
          const shown = stops.push(decoder.push(next));
          answer += shown.text;
          if (shown.text) yield shown.text;
          logits = await this.engine.feed([next]);
          this.ids.push(next);
          if (shown.stopped) {
            stoppedBy = 'stop-string';
            break;
          }
        }
        if (stoppedBy !== 'stop-string') {
          const rest = stops.push(decoder.flush()).text + stops.flush();
          answer += rest;
          if (rest) yield rest;
        }
      } catch (error) {
        // An aborted or failed answer leaves no trace: the next question sees the conversation as before.
        await this.engine.rollBack(mark).catch(() => {});
        this.ids.length = idsBefore;
        if (options.signal?.aborted) {
          return { promptTokens: queryIds.length, generatedTokens: generated.length, queryMs: firstTokenAt - started, decodeTokensPerSecond: 0, stoppedBy: 'abort' };
        }
        throw error;
      }
      const decodeSeconds = (performance.now() - firstTokenAt) / 1000;
      history.turns = [...history.turns, { question: question.trim(), answer: answerPrefix + answer }];
      history.fed += queryText + tokenizer.decode(generated);
      return {
        promptTokens: queryIds.length,
        generatedTokens: generated.length,
        queryMs: firstTokenAt - started,
        decodeTokensPerSecond: generated.length > 1 ? (generated.length - 1) / decodeSeconds : 0,
        stoppedBy,
      };
    } finally {
      this.busy = false;
    }
  }

  private layout(input: DocumentPromptInput) {
    return this.text.template ? splitDocumentPrompt(this.text.template, input) : plainDocumentPrompt(input);
  }

  private queryText(history: ChatHistory, question: string): string {
    if (history.turns.length === 0) return this.layout({ system: history.system, document: history.document, question }).query;
    return this.text.template ? followUpQuery(this.text.template, history, question) : plainFollowUpQuery(question);
  }

  private async exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.busy) throw new ReaderError('The reader is busy with another request');
    this.busy = true;
    try {
      return await work();
    } finally {
      this.busy = false;
    }
  }

  async dispose(): Promise<void> {
    await this.engine.dispose();
  }
}

/** `StarReader.create(options)`: the same as createReader. */
export const StarReader = { create: createReader };

/** The models a browser keeps for offline use (Cache API), and how to remove one. */
export { clearCachedModel, listCachedModels, type CachedModel } from '../model/weight-source.ts';
