// The reader's state machine, outside React: idle → loading-model → ready → encoding → answering.
// The document and the chat live here, not in the engine, so a failed or lost engine loses neither.
import {
  canSaveDocuments,
  loadProgressBar,
  type AnswerStats,
  type AskOptions,
  type AttentionMode,
  type EncodeStats,
  type ModelSummary,
  type Reader,
  type ReaderOptions,
} from '../star/reader-api.ts';
import { describeError, isAbort, isDeviceLost, type Step, type UiError } from './errors.ts';
import { weightOptions, type ModelChoice } from './models.ts';
import { RateMeter, timeLeft, type LoadingProgress, type RateProgress } from './progress.ts';
import { prefixWithinTokens } from './truncate.ts';

export type ReaderFactory = (options: ReaderOptions) => Promise<Reader>;

export type Phase = 'idle' | 'loading-model' | 'ready' | 'encoding' | 'answering' | 'lost';

/** Options that shape the engine itself: changing them means loading the model again. */
export interface EngineSettings {
  attention: AttentionMode;
  hosts: number;
  /** Undefined: the planner picks. */
  blockSize?: number;
  /** Bytes the model may use per device; undefined: only the device's buffer limits are checked. */
  deviceMemoryBudget?: number;
}


export interface DocumentInput {
  name: string;
  text: string;
  /** 'txt' | 'md' | 'html' | 'pdf' | 'pasted' | … */
  kind: string;
  pages?: number;
}

export interface SessionDocument extends DocumentInput {
  /** Bumped on every change, so stale token counts and encodings are recognised. */
  version: number;
  /** When truncated: how many characters of `text` are read. The full text is kept. */
  useChars?: number;
}

export type TokenCount =
  | { status: 'needs-model' }
  | { status: 'counting' }
  | { status: 'counted'; total: number; used: number };

export interface ChatMessage {
  id: number;
  role: 'user' | 'assistant';
  text: string;
  status: 'streaming' | 'done' | 'stopped' | 'error';
  stats?: AnswerStats;
  /** KV cache held for the document when the answer was made, summed over hosts. */
  kvBytes?: number;
  error?: UiError;
}

export interface SessionState {
  phase: Phase;
  source?: ModelChoice;
  /** The engine settings of the loaded (or loading) model. */
  engine?: EngineSettings;
  model?: ModelSummary;
  loadProgress?: LoadingProgress;
  document?: SessionDocument;
  tokens: TokenCount;
  encodeProgress?: RateProgress;
  /** Phase-1 stats of the current document version, once encoded. */
  encoded?: EncodeStats & { version: number };
  /** While encoding: the document is read on its own, not as an answer's first step; a question asked now waits. */
  readingAlone?: boolean;
  /** A question asked while the model loads or the document is read on its own: asked once the document is read. */
  waiting?: string;
  /**
   * A question given back for the question box: it waited, and the model's loading or the reading
   * stopped (cancelled, failed, the document replaced) or the person took it back. A new object each time.
   */
  draft?: { text: string };
  messages: ChatMessage[];
  error?: UiError;
  /** A short line for what just happened (cancelled, copied…); cleared by the next step. */
  notice?: string;
  /** A line about the conversation itself (an answer asked again on its own); cleared by the next question. */
  chatNotice?: string;
  /**
   * The GPU was lost: the model reloads by itself (once per answer that went through; a second loss
   * in a row waits for the user) and reads the document again. Cleared by the next answer.
   */
  recovery?: Recovery;
}

export interface Recovery {
  error: UiError;
  status: 'reloading' | 'reloaded' | 'stopped';
}

export const initialState: SessionState = { phase: 'idle', tokens: { status: 'needs-model' }, messages: [] };

/** Tokens kept free for the question, the chat template and the answer. */
export const promptReserve = 256;

export class ReaderSession {
  private state: SessionState = initialState;
  private readonly listeners = new Set<() => void>();
  private reader: Reader | undefined;
  private operation: { id: number; controller: AbortController } | undefined;
  private operations = 0;
  private messageIds = 0;
  private countTimer: ReturnType<typeof setTimeout> | undefined;
  /** Automatic reloads after a device loss since the last answer that went through. */
  private autoRecoveries = 0;
  private recovering = false;
  /** The options the waiting question was asked with. */
  private waitingOptions: AskOptions = {};

  constructor(
    private readonly createReader: ReaderFactory,
    private readonly now: () => number = () => performance.now(),
  ) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): SessionState => this.state;

  /** The loaded engine, for tools (like the speedup page) that need its tokenizer. */
  get currentReader(): Reader | undefined {
    return this.reader;
  }

  async loadModel(choice: ModelChoice, engine: EngineSettings): Promise<boolean> {
    this.cancel();
    await this.unload();
    const op = this.begin();
    const bar = loadProgressBar();
    let meter = new RateMeter();
    let phase: LoadingProgress['phase'] = 'download';
    this.set({
      phase: 'loading-model',
      source: choice,
      engine,
      model: undefined,
      loadProgress: { done: 0, total: choice.downloadBytes ?? 0, phase },
      encoded: undefined,
      encodeProgress: undefined,
      error: undefined,
      notice: undefined,
      tokens: { status: 'needs-model' },
      recovery: this.recovering ? this.state.recovery : undefined,
    });
    let loaded = false;
    try {
      const reader = await this.createReader({
        model: choice.source,
        ...weightOptions(choice),
        attention: engine.attention,
        hosts: engine.hosts,
        blockSize: engine.blockSize,
        deviceMemoryBudget: engine.deviceMemoryBudget,
        signal: op.controller.signal,
        onLoadProgress: (event) => {
          if (!this.isLive(op)) return;
          const p = bar(event);
          if (p.phase !== phase) [meter, phase] = [new RateMeter(), p.phase]; // each phase has its own speed
          this.set({ loadProgress: { ...meter.sample(p.bytesDone, p.bytesTotal, this.now()), current: p.current, phase } });
        },
      });
      if (!this.isLive(op)) {
        await reader.dispose();
        if (this.isCurrent(op)) throw new DOMException('Model loading cancelled', 'AbortError');
        return false;
      }
      this.reader = reader;
      this.end(op);
      this.set({ phase: 'ready', model: reader.model, loadProgress: undefined });
      this.scheduleCount();
      loaded = true;
      // A question asked while the model loaded: read the document now; the reading's end asks it (a
      // reading that cannot start gives it back: encodeDocument sets 'encoding' before its first wait).
      if (this.state.waiting !== undefined) {
        void this.encodeDocument();
        if (this.state.phase !== 'encoding') this.unwait();
      }
      return true;
    } catch (error) {
      if (!this.isCurrent(op)) return false;
      this.end(op);
      const cancelled = isAbort(error) || op.controller.signal.aborted;
      if (!cancelled && isDeviceLost(error)) {
        this.lose(error, 'model');
        return false;
      }
      this.set({
        phase: 'idle',
        loadProgress: undefined,
        error: cancelled ? undefined : describeError(error, 'model'),
        notice: cancelled ? 'Model loading cancelled.' : undefined,
      });
      return false;
    } finally {
      if (!loaded) this.unwait();
    }
  }

  /** Loads the last model again (after a device loss, a failed download, or with new engine settings) and re-reads the document. */
  async reload(engine = this.state.engine): Promise<boolean> {
    const { source, document } = this.state;
    if (!source || !engine) return false;
    if (!(await this.loadModel(source, engine))) return false;
    return document ? this.encodeDocument() : true;
  }

  /** After a device loss: reload() with the loss still reported, so the user sees why the model reloads. */
  async recover(): Promise<boolean> {
    const recovery = this.state.recovery;
    if (recovery) this.set({ recovery: { ...recovery, status: 'reloading' } });
    this.recovering = true;
    let ok = false;
    try {
      ok = await this.reload();
    } finally {
      this.recovering = false;
    }
    // A second loss while reloading already said 'stopped'.
    const now = this.state.recovery;
    if (now?.status === 'reloading') this.set({ recovery: { ...now, status: ok ? 'reloaded' : 'stopped' } });
    return ok;
  }

  async unload(): Promise<void> {
    const reader = this.reader;
    this.reader = undefined;
    if (this.state.phase !== 'loading-model' && this.state.phase !== 'lost' && this.state.model) {
      this.set({ phase: 'idle', model: undefined, encoded: undefined, tokens: { status: 'needs-model' } });
    }
    if (reader) await reader.dispose().catch(() => undefined);
  }

  /** A new document starts a new conversation: the chat on screen was about the old one. */
  setDocument(input: DocumentInput): void {
    if (this.state.phase === 'encoding' || this.state.phase === 'answering') this.cancel();
    this.unwait(); // a question about the document it replaces
    const version = (this.state.document?.version ?? 0) + 1;
    this.set({ document: { ...input, version }, encoded: undefined, error: undefined, notice: undefined, messages: [], chatNotice: undefined });
    this.scheduleCount();
  }

  clearDocument(): void {
    if (this.state.phase === 'encoding' || this.state.phase === 'answering') this.cancel();
    this.unwait();
    this.set({ document: undefined, encoded: undefined, messages: [], chatNotice: undefined });
  }

  /** Reads only the first `maxTokens` tokens of the document (default: what fits the context window). */
  truncateDocument(maxTokens = this.documentBudget()): void {
    const { document } = this.state;
    if (!this.reader || !document || maxTokens === undefined) return;
    const { chars, tokens } = prefixWithinTokens((t) => this.reader!.countTokens(t), document.text, maxTokens);
    const total = this.state.tokens.status === 'counted' ? this.state.tokens.total : this.reader.countTokens(document.text);
    this.set({
      document: { ...document, useChars: chars, version: document.version + 1 },
      tokens: { status: 'counted', total, used: tokens },
      encoded: undefined,
    });
  }

  useWholeDocument(): void {
    const { document } = this.state;
    if (!document || document.useChars === undefined) return;
    this.set({ document: { ...document, useChars: undefined, version: document.version + 1 }, encoded: undefined });
    this.scheduleCount();
  }

  /** Document tokens that fit the model's context with room for a question and `answerTokens`. */
  documentBudget(answerTokens = 512): number | undefined {
    const window = this.state.model?.contextWindow;
    return window === undefined ? undefined : Math.max(0, window - answerTokens - promptReserve);
  }

  /** Phase 1 on its own: a question asked meanwhile waits. Resolves false when cancelled or failed (the error is in the state). */
  async encodeDocument(): Promise<boolean> {
    return this.read(true);
  }

  private async read(alone: boolean): Promise<boolean> {
    const { document } = this.state;
    const reader = this.reader;
    if (!reader || !document || this.state.phase !== 'ready') return false;
    if (this.state.encoded?.version === document.version) return true;
    const op = this.begin();
    const text = documentText(document);
    this.set({ phase: 'encoding', readingAlone: alone, encodeProgress: { done: 0, total: 0 }, error: undefined, notice: undefined });
    let read = false;
    try {
      const stats = await reader.loadDocument(text, {
        signal: op.controller.signal,
        onProgress: (p) => {
          if (!this.isLive(op)) return;
          const perSecond = p.elapsedMs > 0 ? (p.tokensDone * 1000) / p.elapsedMs : undefined;
          this.set({
            encodeProgress: {
              done: p.tokensDone,
              total: p.tokensTotal,
              perSecond,
              msLeft: timeLeft(p.tokensDone, p.tokensTotal, perSecond),
            },
          });
        },
      });
      if (!this.isCurrent(op)) return false;
      if (op.controller.signal.aborted) throw new DOMException('Reading cancelled', 'AbortError');
      this.end(op);
      this.set({ phase: 'ready', encodeProgress: undefined, encoded: { ...stats, version: document.version } });
      read = true;
      return true;
    } catch (error) {
      if (!this.isCurrent(op)) return false;
      this.end(op);
      this.fail(error, 'document', op, 'Reading the document was cancelled.');
      return false;
    } finally {
      this.endWaiting(read);
    }
  }

  /** Reopens a saved document without phase 1: it becomes the document, with a fresh chat. */
  async openSavedDocument(id: string): Promise<boolean> {
    const reader = this.reader;
    if (!reader || !canSaveDocuments(reader) || this.state.phase !== 'ready') return false;
    const op = this.begin();
    this.set({ phase: 'encoding', encodeProgress: undefined, error: undefined, notice: undefined });
    try {
      const opened = await reader.openSavedDocument(id);
      if (!this.isCurrent(op)) return false;
      this.end(op);
      const version = (this.state.document?.version ?? 0) + 1;
      const tokens = reader.countTokens(opened.document);
      this.set({
        phase: 'ready',
        document: { name: opened.name, text: opened.document, kind: 'saved', version },
        tokens: { status: 'counted', total: tokens, used: tokens },
        encoded: { ...opened.encoded, version },
        messages: [],
        notice: `Reopened “${opened.name}” in ${(opened.reopenMs / 1000).toFixed(1)} s, without reading it again.`,
      });
      return true;
    } catch (error) {
      if (!this.isCurrent(op)) return false;
      this.end(op);
      this.fail(error, 'document', op, 'Reopening was cancelled.');
      return false;
    }
  }

  /** Phase 2: asks about the document (reading it first if needed) and streams the answer into the chat. */
  async ask(question: string, options: AskOptions = {}): Promise<void> {
    const text = question.trim();
    if (!text || !this.state.document) return;
    if (this.questionWaits()) {
      this.waitingOptions = options;
      this.set({ waiting: text });
      return;
    }
    if (!this.reader || this.state.phase !== 'ready') return;
    const user: ChatMessage = { id: ++this.messageIds, role: 'user', text, status: 'done' };
    this.set({ messages: [...this.state.messages, user], chatNotice: undefined });
    await this.answer(text, options);
  }

  /** The last question again, with a fresh answer in place of the last one. */
  async regenerate(options: AskOptions = {}): Promise<void> {
    const question = this.lastQuestion();
    if (question) await this.replaceLastTurn(question.text, options);
  }

  /** The last question, edited, and a new answer to it, in place of the last turn. */
  async editLastQuestion(text: string, options: AskOptions = {}): Promise<void> {
    if (text.trim() && this.lastQuestion()) await this.replaceLastTurn(text.trim(), options);
  }

  /** The last user message, if the chat can go back to it now. */
  lastQuestion(): ChatMessage | undefined {
    if (this.state.phase !== 'ready' || !this.reader) return undefined;
    return this.state.messages.findLast((m) => m.role === 'user');
  }

  /**
   * The reader's conversation cannot drop only its last turn, so it starts over from the encoded
   * document (cheap: phase 1 is kept) and the question is asked alone. Earlier turns stay on screen,
   * and the notice says that the model no longer sees them.
   */
  private async replaceLastTurn(question: string, options: AskOptions): Promise<void> {
    const reader = this.reader;
    const last = this.lastQuestion();
    if (!reader || !last) return;
    const kept = this.state.messages.slice(0, this.state.messages.indexOf(last));
    const user: ChatMessage = { id: ++this.messageIds, role: 'user', text: question, status: 'done' };
    this.set({ messages: [...kept, user], chatNotice: undefined });
    if (this.state.encoded?.version === this.state.document?.version) await reader.resetConversation();
    await this.answer(question, options);
    if (kept.length > 0) this.set({ chatNotice: 'Asked again on its own: the model now sees the document and this question, not the earlier turns.' });
  }

  /**
   * Whether a question asked now waits instead of being asked: a model loads (not a reload after a lost
   * GPU, which re-reads the document by itself), or the document is read on its own; and none waits yet.
   */
  private questionWaits(): boolean {
    const { phase, readingAlone, waiting, recovery } = this.state;
    if (waiting !== undefined) return false;
    return (phase === 'loading-model' && recovery?.status !== 'reloading') || (phase === 'encoding' && !!readingAlone);
  }

  /** The waiting question back to the question box, not asked. */
  unwait(): void {
    const text = this.state.waiting;
    if (text !== undefined) this.set({ waiting: undefined, draft: { text } });
  }

  /** A reading is over: the waiting question is asked if the document was read, given back if not. */
  private endWaiting(read: boolean): void {
    const text = this.state.waiting;
    if (text === undefined) return;
    if (!read) {
      this.unwait();
      return;
    }
    this.set({ waiting: undefined });
    void this.ask(text, this.waitingOptions);
  }

  private async answer(text: string, options: AskOptions): Promise<void> {
    if (!(await this.read(false))) return;
    const reader = this.reader;
    if (!reader) return;
    const op = this.begin();
    const id = ++this.messageIds;
    const kvBytes = this.state.encoded?.kvBytesPerHost.reduce((a, b) => a + b, 0);
    this.set({
      phase: 'answering',
      error: undefined,
      notice: undefined,
      messages: [...this.state.messages, { id, role: 'assistant', text: '', status: 'streaming', kvBytes }],
    });
    let answer = '';
    const streamed = { pieces: 0, started: this.now(), first: 0, last: 0 };
    try {
      const stream = reader.ask(text, { ...options, signal: op.controller.signal });
      // After Stop the reader still ends the stream (with its stats): read it to the end, showing nothing more.
      let step = await stream.next();
      while (!step.done) {
        if (this.isLive(op)) {
          answer += step.value;
          streamed.last = this.now();
          if (streamed.pieces++ === 0) streamed.first = streamed.last;
          this.updateMessage(id, { text: answer });
        }
        step = await stream.next();
      }
      if (!this.isCurrent(op)) {
        this.updateMessage(id, { status: 'stopped', stats: statsAsStreamed(step.value, streamed) });
        return;
      }
      this.end(op);
      const stopped = step.value.stoppedBy === 'abort' || op.controller.signal.aborted;
      this.updateMessage(id, { status: stopped ? 'stopped' : 'done', stats: statsAsStreamed(step.value, streamed) });
      this.autoRecoveries = 0;
      this.set({ phase: 'ready', recovery: undefined, notice: stopped ? 'Answer stopped.' : undefined });
    } catch (error) {
      if (!this.isCurrent(op)) {
        this.updateMessage(id, { status: 'stopped' });
        return;
      }
      this.end(op);
      const stopped = isAbort(error) || op.controller.signal.aborted;
      this.updateMessage(id, stopped ? { status: 'stopped' } : { status: 'error', error: describeError(error, 'answer') });
      this.fail(error, 'answer', op, 'Answer stopped.');
    }
  }

  /** Stops whatever runs now: a download, phase 1 or an answer. */
  cancel(): void {
    this.operation?.controller.abort();
  }

  /** Empties the chat and the reader's conversation; the encoded document stays, so the next question is cheap. */
  async clearChat(): Promise<void> {
    if (this.state.phase === 'answering') this.cancel();
    this.set({ messages: [], notice: undefined, chatNotice: undefined });
    const reader = this.reader;
    if (reader && this.state.encoded && this.state.phase === 'ready') await reader.resetConversation();
  }

  dismissError(): void {
    const { recovery } = this.state;
    this.set({ error: undefined, notice: undefined, recovery: recovery?.status === 'reloaded' ? undefined : recovery });
  }

  /** Cancels work and frees the GPU; the session can load a model again later. */
  async dispose(): Promise<void> {
    this.cancel();
    this.operation = undefined;
    clearTimeout(this.countTimer);
    await this.unload();
    if (this.state.phase !== 'idle') this.set({ phase: 'idle', loadProgress: undefined, encodeProgress: undefined });
  }

  private fail(error: unknown, step: Step, op: { controller: AbortController }, cancelledNotice: string): void {
    if (isDeviceLost(error)) {
      this.lose(error, step);
      return;
    }
    const cancelled = isAbort(error) || op.controller.signal.aborted;
    this.set({
      phase: 'ready',
      encodeProgress: undefined,
      error: cancelled ? undefined : describeError(error, step),
      notice: cancelled ? cancelledNotice : undefined,
    });
  }

  /** The GPU state is gone, the document and the chat are not: free the engine and reload it (see `recovery`). */
  private lose(error: unknown, step: Step): void {
    const reader = this.reader;
    this.reader = undefined;
    void reader?.dispose().catch(() => undefined);
    const lost = describeError(error, step);
    const automatic = this.autoRecoveries === 0;
    this.set({
      phase: 'lost',
      model: undefined,
      encoded: undefined,
      loadProgress: undefined,
      encodeProgress: undefined,
      tokens: { status: 'needs-model' },
      error: lost,
      recovery: { error: lost, status: automatic ? 'reloading' : 'stopped' },
    });
    if (automatic) {
      this.autoRecoveries++;
      // After the current step has unwound: its caller still holds the lost engine's promises.
      setTimeout(() => void this.recover(), 0);
    }
  }

  /** Token counting runs on the main thread: deferred so the "counting" state paints first. */
  private scheduleCount(): void {
    clearTimeout(this.countTimer);
    const { document } = this.state;
    if (!this.reader) {
      this.set({ tokens: { status: 'needs-model' } });
      return;
    }
    if (!document) return;
    this.set({ tokens: { status: 'counting' } });
    this.countTimer = setTimeout(() => {
      const current = this.state.document;
      const reader = this.reader;
      if (!reader || !current || current.version !== document.version) return;
      try {
        const total = reader.countTokens(current.text);
        const used = current.useChars === undefined ? total : reader.countTokens(documentText(current));
        this.set({ tokens: { status: 'counted', total, used } });
      } catch (error) {
        this.set({ tokens: { status: 'needs-model' }, error: describeError(error, 'document') });
      }
    }, 0);
  }

  private updateMessage(id: number, patch: Partial<ChatMessage>): void {
    this.set({ messages: this.state.messages.map((m) => (m.id === id ? { ...m, ...patch } : m)) });
  }

  private begin(): { id: number; controller: AbortController } {
    this.operation = { id: ++this.operations, controller: new AbortController() };
    return this.operation;
  }

  private end(op: { id: number }): void {
    if (this.operation?.id === op.id) this.operation = undefined;
  }

  /** False once another operation took over (or the session was disposed). */
  private isCurrent(op: { id: number }): boolean {
    return this.operation?.id === op.id;
  }

  /** Current and not cancelled: its progress and results still belong in the state. */
  private isLive(op: { id: number; controller: AbortController }): boolean {
    return this.isCurrent(op) && !op.controller.signal.aborted;
  }

  private set(patch: Partial<SessionState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
  }
}

interface Streamed {
  pieces: number;
  /** this.now() when the question was sent, at the first piece and at the last. */
  started: number;
  first: number;
  last: number;
}

/**
 * The reader's stats, with the decode rate measured from what streamed where the reader gives none
 * (a stopped answer reports 0 tokens/s): its tokens after the first, over the time they took.
 */
export function statsAsStreamed(stats: AnswerStats, streamed: Streamed): AnswerStats {
  if (stats.decodeTokensPerSecond > 0) return stats;
  const seconds = (streamed.last - streamed.first) / 1000;
  const measured = stats.generatedTokens > 1 && seconds > 0 ? (stats.generatedTokens - 1) / seconds : undefined;
  return measured === undefined ? stats : { ...stats, decodeTokensPerSecond: measured };
}

/** The part of the document the engine reads. */
export function documentText(document: SessionDocument): string {
  return document.useChars === undefined ? document.text : document.text.slice(0, document.useChars);
}
