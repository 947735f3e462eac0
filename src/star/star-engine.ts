// The Star Attention engine on token ids: phase 1 spread over hosts, phase 2 on the query host with
// every other host's partial attention merged in at each layer. The reader (reader.ts) puts text,
// chat templates and sampling on top; the CLI's `score` uses this directly.
import { attentionFlops, attentionPairs, planBlocks, type BlockPlan } from './block-planner.ts';
import { planMemory } from '../model/memory-plan.ts';
import { defaultKvType } from '../model/kv-cache.ts';
import type { AdapterChoice, EncodeJob, EncodeResult, HostInfo, HostOpenOptions, ShardTarget } from './host.ts';
import { makeManifest, SavedDocumentError, type DocumentStore, type ManifestContent, type SavedManifest, type SavedSettings, type ShardRecord } from './document-store.ts';
import type { CitationRequest, CitationShares, HostPartial, RemoteAttention, RemotePartials, SplitLses } from '../model/transformer.ts';
import type { CitationGrid } from '../gpu/kernels/attention.ts';
import type { AnswerOptions } from '../model/answer-decoder.ts';
import type { AttentionMode, EncodeChoices, EncodeStats, LoadDocumentOptions } from './reader-api.ts';

/** What the engine needs of a host, whether it lives in this thread or in a Worker (all async). */
export interface HostHandle {
  info(): Promise<HostInfo> | HostInfo;
  encode(job: EncodeJob, onProgress?: (tokensDone: number) => void, signal?: AbortSignal): Promise<EncodeResult>;
  partialAttention(layer: number, q: Float32Array, rows: number, firstPosition: number, grid?: CitationGrid): Promise<HostPartial>;
  feed(ids: readonly number[], firstPosition: number, logits: 'last' | 'all', remote?: RemoteAttention): Promise<Float32Array>;
  beginAnswer(options: AnswerOptions, citations?: CitationRequest): Promise<void>;
  /** The citations recorded in the answer for its first `rows` decoded tokens; undefined when none are. */
  readCitations(rows: number): Promise<CitationShares | undefined>;
  step(ids: readonly number[], firstPosition: number, remote?: RemoteAttention): Promise<number>;
  endAnswer(): Promise<void>;
  kvLength(): Promise<number> | number;
  truncate(rows: number): Promise<void> | void;
  kvBytes(): Promise<number> | number;
  /** Saves the first `rows` KV rows of the host's shard (see Host.saveShard). */
  saveShard(target: ShardTarget, rows: number): Promise<ShardRecord>;
  /** Reads a saved shard aside; finishLoad(true) makes it the host's document, finishLoad(false) drops it. */
  loadShard(target: ShardTarget, record: ShardRecord, capacity: number): Promise<void>;
  finishLoad(keep: boolean): Promise<void> | void;
  dispose(): Promise<void> | void;
}

/** What a saved document needs beyond the engine's own state: its entry, the model and the reader's text. */
export type SaveRequest = Omit<ManifestContent, 'savedAt' | 'settings' | 'plan' | 'shards'> & { store: DocumentStore };

/** What opening a host takes: the same whether it lives in this thread or in a Worker. */
export type HostOpenRequest = HostOpenOptions;

/** Opens host number `index` (its own GPUDevice and model replica). */
export type HostFactory = (index: number, request: HostOpenRequest) => Promise<HostHandle>;

export interface EngineOptions extends HostOpenRequest, EncodeChoices {
  /**
   * GPUs for the hosts, host i on adapters[i % length]: on a machine with an integrated and a
   * discrete GPU (or several GPUs in Node), phase 1 runs on all of them at once.
   */
  adapters?: AdapterChoice[];
  /** KV rows kept free on the query host for questions and answers (it grows past this if needed). */
  conversationRoom?: number;
  openHost: HostFactory;
}

export class EngineError extends Error {
  override name = 'EngineError';
}

export class StarEngine {
  private plan: BlockPlan | undefined;
  private attention: AttentionMode = 'star';
  private nextPosition = 0;

  private constructor(
    private readonly hosts: HostHandle[],
    readonly info: HostInfo,
    private readonly options: EngineOptions,
  ) {}

  static async create(options: EngineOptions): Promise<StarEngine> {
    const count = options.hosts ?? 1;
    // Every host downloads/reads the same files; progress is reported for the first one.
    const opened = await Promise.allSettled(
      Array.from({ length: count }, (_, i) =>
        options.openHost(i, {
          ...options,
          adapter: options.adapters?.length ? options.adapters[i % options.adapters.length] : options.adapter,
          onProgress: i === 0 ? options.onProgress : undefined,
        }),
      ),
    );
    const hosts = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failure = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      await Promise.all(hosts.map((h) => h.dispose()));
      throw failure.reason;
    }
    return new StarEngine(hosts, await hosts[0].info(), options);
  }

  get contextWindow(): number {
    return this.info.config.maxPositionEmbeddings;
  }

  /** Position id the next fed token takes. */
  get position(): number {
    return this.nextPosition;
  }

  /**
   * Phase 1: encodes the context, its blocks on all hosts at once. Replaces any earlier document.
   * Full attention, the exact baseline, runs on one host.
   */
  async encode(
    ids: readonly number[],
    options: LoadDocumentOptions = {},
  ): Promise<EncodeStats> {
    this.checkTokenIds(ids, 'the context');
    const n = ids.length;
    const room = this.options.conversationRoom ?? 1024;
    if (n + 1 > this.contextWindow) {
      throw new EngineError(
        `The document is ${n} tokens but the model's context window is ${this.contextWindow} ` +
          `(max_position_embeddings), with room needed for the question: shorten it by at least ${n + 1 - this.contextWindow} tokens or use a model with a longer window`,
      );
    }
    this.plan = undefined;
    this.nextPosition = 0;
    const mode = options.attention ?? this.options.attention ?? 'star';
    const hosts = mode === 'full' ? 1 : (options.hosts ?? this.options.hosts ?? this.hosts.length);
    if (hosts > this.hosts.length) throw new EngineError(`${hosts} hosts asked for, ${this.hosts.length} loaded`);
    const plan = planBlocks(n, {
      hosts,
      blockSize: mode === 'full' ? n : (options.blockSize ?? this.options.blockSize),
      anchorSize: mode === 'full' ? undefined : (options.anchorSize ?? this.options.anchorSize),
    });
    this.checkMemory(plan, room);
    const started = performance.now();
    const done = new Array<number>(this.hosts.length).fill(0);
    const report = () =>
      options.onProgress?.({ tokensDone: done.reduce((a, b) => a + b, 0), tokensTotal: n, elapsedMs: performance.now() - started });
    const anchorIds = ids.slice(0, plan.anchorSize);
    // One host failing stops the others: nothing keeps running on a document that will not be used.
    const stopAll = new AbortController();
    const onAbort = () => stopAll.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const settled = await Promise.allSettled(
      plan.hosts.map(async (share) => {
        const job: EncodeJob = {
          ids: ids.slice(share.start, share.end),
          start: share.start,
          attention: mode,
          blockSize: plan.blockSize,
          anchorSize: plan.anchorSize,
          anchorIds: share.start === 0 ? undefined : anchorIds,
          capacity: share.end - share.start + (share.host === plan.queryHost ? room : 0),
          conversationLength: n + room,
        };
        try {
          return await this.hosts[share.host].encode(
            job,
            (tokens) => {
              done[share.host] = tokens;
              report();
            },
            stopAll.signal,
          );
        } catch (error) {
          stopAll.abort(error);
          throw error;
        }
      }),
    );
    options.signal?.removeEventListener('abort', onAbort);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw options.signal?.aborted ? options.signal.reason : firstRealError(settled, stopAll.signal.reason);
    const results = settled.map((r) => (r as PromiseFulfilledResult<EncodeResult>).value);
    const encodeMs = performance.now() - started;
    this.plan = plan;
    this.attention = mode;
    this.nextPosition = n;
    return {
      tokens: n,
      blocks: plan.blocks.length,
      blockSize: plan.blockSize,
      hosts,
      attention: mode,
      encodeMs,
      tokensPerSecond: n / (encodeMs / 1000),
      kvBytesPerHost: results.map((r) => r.kvBytes),
      attentionPairs: attentionPairs(plan, mode),
      fullAttentionPairs: attentionPairs(plan, 'full'),
      attentionFlops: attentionFlops(plan, mode, this.info.config),
      fullAttentionFlops: attentionFlops(plan, 'full', this.info.config),
    };
  }

  /**
   * The GPU reads embedding row `id` unchecked: an id outside the vocabulary (a tokenizer of another
   * model, a bad ids file) would turn whatever lies past the table into logits. Refused here, before
   * anything changes or runs.
   */
  private checkTokenIds(ids: readonly number[], what: string): void {
    const vocab = this.info.config.vocab;
    const at = ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
    if (at >= 0) {
      throw new EngineError(
        `Token id ${ids[at]} (index ${at} of ${what}) is outside the model's vocabulary of ${vocab} (ids 0–${vocab - 1}): ` +
          'were the ids made by another model\'s tokenizer?',
      );
    }
  }

  /** Refuses a plan whose largest share (with the query host's room) does not fit one device. */
  private checkMemory(plan: BlockPlan, room: number): void {
    const shares = plan.hosts.map((h) => ({ context: h.end - h.start, conversation: h.host === plan.queryHost ? room : 0 }));
    const largest = shares.reduce((a, b) => (b.context + b.conversation > a.context + a.conversation ? b : a));
    const memory = planMemory(this.info.config, {
      contextTokens: largest.context,
      conversationTokens: largest.conversation,
      weightType: this.options.weightType ?? 'f32',
      cpuEmbedding: this.options.cpuEmbedding,
      kvType: this.options.kvType ?? defaultKvType,
      limits: {
        maxBufferSize: this.info.adapter.limits.maxBufferSize,
        maxStorageBufferBindingSize: this.info.adapter.limits.maxStorageBufferBindingSize,
      },
      deviceMemoryBudget: this.options.deviceMemoryBudget,
      prefillRows: this.info.pieceRows,
    });
    if (!memory.fits) throw new EngineError(memory.message ?? 'The document does not fit in GPU memory');
  }

  /**
   * Phase 2: feeds tokens at the next positions (a question, then each generated token) and returns
   * the logits of the last row ([vocab]) or of every row ([rows·vocab]).
   */
  async feed(ids: readonly number[], logits: 'last' | 'all' = 'last'): Promise<Float32Array> {
    const { queryHost, remote } = this.phase2(ids);
    const out = await queryHost.feed(ids, this.nextPosition, logits, remote);
    this.nextPosition += ids.length;
    return out;
  }

  /** The query host and the other hosts' attention for feeding `ids` next; refuses what cannot be fed. */
  private phase2(ids: readonly number[]): { queryHost: HostHandle; remote: RemoteAttention | undefined } {
    if (!this.plan) throw new EngineError('No document encoded: call encode() first');
    this.checkTokenIds(ids, 'the fed tokens');
    if (this.nextPosition + ids.length > this.contextWindow) {
      throw new EngineError(`The conversation reached the model's context window of ${this.contextWindow} tokens`);
    }
    const plan = this.plan;
    const others = plan.hosts.filter((share) => share.host !== plan.queryHost).map((share) => this.hosts[share.host]);
    return { queryHost: this.hosts[plan.queryHost], remote: others.length ? this.remoteAttention(others) : undefined };
  }

  /**
   * Starts an answer whose tokens the query host chooses on its GPU: step() feeds ids (the question,
   * then each chosen token) and returns the next id; endAnswer() must follow, on every way out.
   */
  async beginAnswer(options: AnswerOptions, citations?: CitationRequest): Promise<void> {
    if (!this.plan) throw new EngineError('No document encoded: call encode() first');
    await this.hosts[this.plan.queryHost].beginAnswer(options, citations);
  }

  /** The answer's citations so far (see Transformer.startCitations), for its first `rows` decoded tokens. */
  async readCitations(rows: number): Promise<CitationShares | undefined> {
    return this.plan ? this.hosts[this.plan.queryHost].readCitations(rows) : undefined;
  }

  /** Phase 2 within an answer: feeds ids at the next positions, returns the id chosen after them. */
  async step(ids: readonly number[]): Promise<number> {
    const { queryHost, remote } = this.phase2(ids);
    const id = await queryHost.step(ids, this.nextPosition, remote);
    this.nextPosition += ids.length;
    return id;
  }

  async endAnswer(): Promise<void> {
    if (this.plan) await this.hosts[this.plan.queryHost].endAnswer();
  }

  /** Marks the conversation so far; rollBack() returns to it (an aborted answer leaves no trace). */
  async checkpoint(): Promise<{ position: number; kvRows: number }> {
    if (!this.plan) throw new EngineError('No document encoded');
    return { position: this.nextPosition, kvRows: await this.hosts[this.plan.queryHost].kvLength() };
  }

  async rollBack(mark: { position: number; kvRows: number }): Promise<void> {
    if (!this.plan) return;
    await this.hosts[this.plan.queryHost].truncate(mark.kvRows);
    this.nextPosition = mark.position;
  }

  /** The settings the open document was read with (what a saved copy records and a reopen compares). */
  documentSettings(): SavedSettings {
    const plan = this.requirePlan();
    return {
      attention: this.attention,
      blockSize: plan.blockSize,
      anchorSize: plan.anchorSize,
      hosts: plan.hosts.length,
      ropeDType: this.options.ropeDType ?? 'f32',
      kvType: this.options.kvType ?? defaultKvType,
    };
  }

  /**
   * Saves the encoded document (its rows only, not the conversation after it) as entry `request.id`:
   * each host writes its own shard, at once, then the manifest is committed last. A failed save
   * removes what it wrote.
   */
  async saveDocument(request: SaveRequest): Promise<SavedManifest> {
    const plan = this.requirePlan();
    const { store, ...content } = request;
    if (content.tokenIds.length !== plan.contextTokens) {
      throw new EngineError(`${content.tokenIds.length} token ids given for a document of ${plan.contextTokens}`);
    }
    const settings = this.documentSettings();
    const settled = await Promise.allSettled(
      plan.hosts.map((share) => this.hosts[share.host].saveShard({ store, id: content.id, file: shardFile(share.host) }, share.end - share.start)),
    );
    try {
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      const shards = settled.map((r) => (r as PromiseFulfilledResult<ShardRecord>).value);
      const manifest = makeManifest({ ...content, savedAt: new Date().toISOString(), settings, plan, shards });
      await store.commit(manifest);
      return manifest;
    } catch (error) {
      await store.remove(content.id).catch(() => {});
      throw error;
    }
  }

  /**
   * Reopens a saved document without phase 1: every host reads its shard (checked piece by piece)
   * and only when all have, they switch to it. On any failure the open document stays as it was.
   * The caller checks the model's identity first (the engine does not know where weights came from).
   */
  async restoreDocument(store: DocumentStore, manifest: SavedManifest): Promise<{ tokens: number; ms: number }> {
    const { plan, settings } = manifest;
    const n = plan.contextTokens;
    if (settings.hosts > this.hosts.length) {
      throw new EngineError(`"${manifest.name}" was read over ${settings.hosts} hosts; ${this.hosts.length} are loaded`);
    }
    if (n + 1 > this.contextWindow) throw new EngineError(`"${manifest.name}" is ${n} tokens, past the model's context window of ${this.contextWindow}`);
    // The KV depends on these as much as on the weights: a mismatch would answer, wrongly.
    const weightType = this.options.weightType ?? 'f32';
    const ropeDType = this.options.ropeDType ?? 'f32';
    const kvType = this.options.kvType ?? defaultKvType;
    if (manifest.model.weightType !== weightType || settings.ropeDType !== ropeDType || settings.kvType !== kvType) {
      throw new SavedDocumentError(
        `"${manifest.name}" was encoded with ${manifest.model.weightType} weights, ${settings.ropeDType} RoPE and an ${settings.kvType} KV cache; ` +
          `this engine runs ${weightType} weights, ${ropeDType} RoPE and an ${kvType} KV cache`,
      );
    }
    const replanned = planBlocks(n, { hosts: settings.hosts, blockSize: settings.blockSize, anchorSize: settings.anchorSize });
    if (JSON.stringify(replanned) !== JSON.stringify(plan)) throw new SavedDocumentError(`The saved document "${manifest.name}" has a corrupted block plan`);
    const room = this.options.conversationRoom ?? 1024;
    this.checkMemory(plan, room);
    const shards = plan.hosts.map((share) => {
      const record = manifest.shards.find((s) => s.host === share.host);
      if (!record || record.rows !== share.end - share.start) {
        throw new SavedDocumentError(`The saved document "${manifest.name}" has no shard for host ${share.host}'s ${share.end - share.start} tokens`);
      }
      return { share, record };
    });
    const started = performance.now();
    const settled = await Promise.allSettled(
      shards.map(({ share, record }) =>
        this.hosts[share.host].loadShard({ store, id: manifest.id, file: record.file }, record, record.rows + (share.host === plan.queryHost ? room : 0)),
      ),
    );
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    await Promise.all(shards.map(({ share }) => this.hosts[share.host].finishLoad(!failed)));
    if (failed) throw failed.reason;
    this.plan = plan;
    this.attention = settings.attention;
    this.nextPosition = n;
    return { tokens: n, ms: performance.now() - started };
  }

  private requirePlan(): BlockPlan {
    if (!this.plan) throw new EngineError('No document encoded: call encode() first');
    return this.plan;
  }

  private remoteAttention(others: HostHandle[]): RemoteAttention {
    return async (layer, q, rows, firstPosition, grid): Promise<RemotePartials> => {
      const parts = await Promise.all(others.map((h) => h.partialAttention(layer, q, rows, firstPosition, grid)));
      const splits = grid ? joinSplits(parts, rows * this.info.config.heads) : undefined;
      return { o: concat(parts.map((p) => p.o)), lse: concat(parts.map((p) => p.lse)), count: parts.length, splits };
    };
  }

  async dispose(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.dispose()));
  }
}

function shardFile(host: number): string {
  return `host-${host}.kv`;
}

/** The error that started a failure, not the aborts it caused in the other hosts. */
function firstRealError(settled: PromiseSettledResult<unknown>[], cause: unknown): unknown {
  const reasons = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  return reasons.find((r) => !(r instanceof DOMException && r.name === 'AbortError')) ?? cause;
}

/** The hosts' split LSEs back to back, each host's slots renumbered after the previous hosts'. */
function joinSplits(parts: HostPartial[], pairs: number): SplitLses | undefined {
  if (parts.some((p) => !p.splits)) return undefined;
  let slots = 0;
  const spans: SplitLses['spans'] = [];
  for (const p of parts) {
    for (const span of p.splits!.spans) spans.push({ ...span, slotBase: span.slotBase + slots });
    slots += p.splits!.lse.length / pairs;
  }
  return { lse: concat(parts.map((p) => p.splits!.lse)), spans };
}

function concat(arrays: Float32Array[]): Float32Array {
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}
