// The reader: documents and questions as text, on the Star Attention engine. It tokenizes with the
// model's tokenizer, lays the prompt out with its chat template (phase 1: everything before the
// question; phase 2: the question and the assistant header), samples, streams text, and keeps the
// conversation so follow-up questions append to the query host's KV.
import { StarEngine, type HostFactory } from './star-engine.ts';
import { openLocalHost } from './local-host.ts';
import { openWorkerHost } from './worker-host.ts';
import { openModelSource } from '../model/source/model-source.ts';
import type { ModelFiles } from '../model/source/model-files.ts';
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
import { createStopChecker } from '../model/sampling.ts';
import type { ModelConfig } from '../model/config.ts';
import {
  answerStream,
  type AnswerStream,
  type AnswerStats,
  type EncodeChoices,
  type EncodeStats,
  type LoadDocumentOptions,
  type ModelSummary,
  type ReaderOptions,
  type AskOptions,
  type ReopenStats,
  type SavedDocumentSummary,
  type SavingReader,
  type StoreUsage,
} from './reader-api.ts';
import { DocumentLibrary, type OpenDocument } from './saved-documents.ts';
import type { DocumentStore } from './document-store.ts';
import { hasOpfs, opfsDocumentStore } from './document-store.opfs.ts';
import { answerCitations, mapDocumentTokens, type DocumentTokenMap } from './citations.ts';
import { defaultSpanTokens } from '../model/transformer.ts';

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
  const source = openModelSource(options.model, { signal: options.signal, onDownload: options.onLoadProgress });
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

async function loadTextFiles(source: ModelFiles): Promise<TextFiles> {
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

async function readOptionalText(source: ModelFiles, path: string): Promise<string | undefined> {
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

/** A point in the query host's KV that the engine can return to. */
type EngineMark = Awaited<ReturnType<StarEngine['checkpoint']>>;

/**
 * The loaded document and the conversation on it, exactly as the query host's KV holds them: `ids` are
 * the KV's tokens, `history.fed` their text, and the engine's position follows `ids`. Every answer
 * either appends to all three or to none (see TextReader.ask).
 */
interface Conversation {
  history: ChatHistory;
  /** Every id in the query host's context so far, for the repetition penalty. */
  ids: number[];
  /** Where the document ends: resetConversation() returns here. */
  document: { mark: EngineMark; ids: number; fed: string };
  /** The document's tokens in its text, for citations: mapped at the first question that wants them (null: it cannot be). */
  tokenMap?: DocumentTokenMap | null;
}

/** How one answer ended, for ask() to keep (commit) or undo. */
interface AnswerTurn {
  queryText: string;
  /** The ids generated and fed to the KV (an end-of-sequence token is neither). */
  generated: number[];
  /** The text streamed: the generated text up to a stop string. */
  answer: string;
  stats: AnswerStats;
}

class TextReader implements SavingReader {
  private conversation: Conversation | undefined;
  /** Why there is no conversation although a document was loaded: its KV could not be put back. */
  private lost: string | undefined;
  /** The open document as saveDocument keeps it (the conversation after it is not saved). */
  private openDocument: OpenDocument | undefined;
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
    options: LoadDocumentOptions = {},
  ): Promise<EncodeStats> {
    return this.exclusive(async () => {
      this.conversation = undefined;
      this.lost = undefined;
      this.openDocument = undefined;
      let ids: number[];
      let context: string | undefined;
      if (typeof document === 'string') {
        // The context does not depend on the question: any question finds the split.
        const prompt = this.layout({ system: this.system, document, question: '?' });
        context = prompt.context;
        ids = this.text.tokenizer.encode(context, { addSpecialTokens: prompt.addSpecialTokens });
      } else {
        ids = [...document];
      }
      // The engine refuses ids the model has no embedding for before anything runs; decode after it.
      const stats = await this.engine.encode(ids, options);
      context ??= this.text.tokenizer.decode(ids);
      const history = { system: this.system, document: typeof document === 'string' ? document : context, turns: [], fed: context };
      const mark = await this.engine.checkpoint();
      this.conversation = { history, ids, document: { mark, ids: ids.length, fed: context } };
      this.openDocument = { tokenIds: [...ids], state: { system: this.system, document: history.document, fed: context, encoded: stats } };
      return stats;
    });
  }

  async resetConversation(): Promise<void> {
    return this.exclusive(async () => {
      const conversation = this.conversation;
      if (!conversation) {
        if (this.lost !== undefined) throw this.lostError();
        return;
      }
      await this.rollBack(conversation, conversation.document.mark, conversation.document.ids);
      if (!this.conversation) throw this.lostError();
      conversation.history.turns = [];
      conversation.history.fed = conversation.document.fed;
    });
  }

  async saveDocument(name: string): Promise<SavedDocumentSummary> {
    return this.exclusive(async () => {
      if (!this.openDocument) throw new ReaderError('Load a document before saving it');
      return this.library.save(name, this.openDocument);
    });
  }

  /** Reopens a saved document: a fresh conversation on it, as right after loadDocument. */
  async openSavedDocument(id: string, choices: EncodeChoices = {}): Promise<ReopenStats> {
    return this.exclusive(async () => {
      const { manifest, stats } = await this.library.open(id, choices);
      const state = manifest.reader;
      const history = { system: state.system, document: state.document, turns: [], fed: state.fed };
      const mark = await this.engine.checkpoint();
      this.conversation = { history, ids: [...manifest.tokenIds], document: { mark, ids: manifest.tokenIds.length, fed: state.fed } };
      this.lost = undefined;
      this.openDocument = { tokenIds: manifest.tokenIds, state };
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

  /**
   * Streams one answer. The turn is kept only when the answer ends by itself (end of sequence, stop
   * string, max tokens); every other way out — abort signal, the caller leaving the loop (break,
   * return(), throw), an error, a lost device — rolls the KV, the ids and the history back to before
   * the question, in the one `finally` every exit runs.
   */
  ask(question: string, options: AskOptions = {}): AnswerStream {
    return answerStream(this.askTurn(question, options));
  }

  private async *askTurn(question: string, options: AskOptions): AsyncGenerator<string, AnswerStats> {
    if (this.busy) throw new ReaderError('The reader is busy with another request');
    const conversation = this.conversation;
    if (!conversation) throw this.lost !== undefined ? this.lostError() : new ReaderError('Load a document before asking');
    this.busy = true;
    try {
      const mark = await this.engine.checkpoint();
      const idsBefore = conversation.ids.length;
      let kept = false;
      try {
        const turn = yield* this.answer(conversation, question, options);
        if (turn.stats.stoppedBy !== 'abort') {
          this.keep(conversation, question, turn, options.answerPrefix ?? '');
          kept = true;
        }
        return turn.stats;
      } finally {
        if (!kept) await this.rollBack(conversation, mark, idsBefore);
      }
    } finally {
      this.busy = false;
    }
  }

  /** Feeds the question and generates; pushes every id it feeds onto `conversation.ids`. */
  private async *answer(conversation: Conversation, question: string, options: AskOptions): AsyncGenerator<string, AnswerTurn> {
    const { tokenizer, generation } = this.text;
    const queryText = this.queryText(conversation.history, question) + (options.answerPrefix ?? '');
    const queryIds = tokenizer.encode(queryText, { addSpecialTokens: false });
    // Embedding rows past the tokenizer's vocabulary (Qwen pads its embedding) are never sampled.
    const vocab = Math.min(tokenizer.vocabSize, this.engine.info.config.vocab);
    const sampling = { ...generation.sampling, ...options.sampling };
    const stops = createStopChecker(this.text.template ? [] : PLAIN_STOP_STRINGS);
    const decoder = tokenizer.createStreamDecoder({ skipSpecialTokens: true });
    const eos = new Set(generation.eosTokenIds);
    const maxTokens = options.maxTokens ?? generation.maxNewTokens ?? 512;
    const started = performance.now();
    let firstTokenAt = started;
    const generated: number[] = [];
    let answer = '';
    let stoppedBy: AnswerStats['stoppedBy'] = 'max-tokens';
    // Tokens are chosen on the query host's GPU; only their ids come back (src/model/answer-decoder.ts).
    const citing = options.citations === false ? undefined : { top: 3, spanTokens: defaultSpanTokens, ...(options.citations === true ? {} : options.citations) };
    const tokenMap = citing && this.tokenMap(conversation);
    let citations: AnswerStats['citations'];
    // Recorded from the first generated token fed on: its row's attention chose the second one.
    const citationRequest = tokenMap ? { origin: tokenMap.origin, firstPosition: this.engine.position + queryIds.length, rows: maxTokens + 1, spanTokens: citing.spanTokens } : undefined;
    await this.engine.beginAnswer({ sampling, vocab, seen: [...conversation.ids, ...queryIds] }, citationRequest);
    try {
      let next = await this.engine.step(queryIds);
      conversation.ids.push(...queryIds);
      while (generated.length < maxTokens) {
        if (options.signal?.aborted) {
          stoppedBy = 'abort';
          break;
        }
        if (generated.length === 0) firstTokenAt = performance.now();
        if (eos.has(next)) {
          stoppedBy = 'eos';
          break;
        }
        generated.push(next);
        const shown = stops.push(decoder.push(next));
        answer += shown.text;
        if (shown.text) yield shown.text;
        const fed = next;
        next = await this.engine.step([fed]);
        conversation.ids.push(fed);
        if (shown.stopped) {
          stoppedBy = 'stop-string';
          break;
        }
      }
      if (tokenMap && stoppedBy !== 'abort') {
        const recorded = await this.engine.readCitations(generated.length);
        citations = recorded && answerCitations(recorded, tokenMap, citing.top);
      }
    } finally {
      await this.engine.endAnswer();
    }
    if (stoppedBy !== 'stop-string' && stoppedBy !== 'abort') {
      const rest = stops.push(decoder.flush()).text + stops.flush();
      answer += rest;
      if (rest) yield rest;
    }
    const decodeSeconds = (performance.now() - firstTokenAt) / 1000;
    const stats: AnswerStats = {
      promptTokens: queryIds.length,
      generatedTokens: generated.length,
      queryMs: firstTokenAt - started,
      decodeTokensPerSecond: stoppedBy !== 'abort' && generated.length > 1 ? (generated.length - 1) / decodeSeconds : 0,
      stoppedBy,
      ...(citations && { citations }),
    };
    return { queryText, generated, answer, stats };
  }

  /** The conversation's document tokens mapped to its text (once per document; undefined when they cannot be). */
  private tokenMap(conversation: Conversation): DocumentTokenMap | undefined {
    conversation.tokenMap ??= mapDocumentTokens(this.text.tokenizer, conversation.ids.slice(0, conversation.document.ids), conversation.history.document) ?? null;
    return conversation.tokenMap ?? undefined;
  }

  /** Appends a finished answer to the history; the KV and the ids already hold it. */
  private keep(conversation: Conversation, question: string, turn: AnswerTurn, answerPrefix: string): void {
    const history = conversation.history;
    history.turns = [...history.turns, { question: question.trim(), answer: answerPrefix + turn.answer }];
    history.fed += turn.queryText + this.text.tokenizer.decode(turn.generated);
  }

  /**
   * Returns the KV and the ids to `mark`. When the engine cannot (the device is gone), the conversation
   * is dropped rather than left out of step with the KV: the next ask() says to load the document again.
   */
  private async rollBack(conversation: Conversation, mark: EngineMark, ids: number): Promise<void> {
    conversation.ids.length = ids;
    try {
      await this.engine.rollBack(mark);
    } catch (error) {
      this.conversation = undefined;
      this.lost = error instanceof Error ? error.message : String(error);
    }
  }

  private lostError(): ReaderError {
    return new ReaderError(`The conversation could not be restored after a failure (${this.lost}): load the document again`);
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

export * from './reader-api.ts';
export { listCachedModels, clearCachedModel, filesByRelativePath, type CachedModel } from './page-support.ts';
