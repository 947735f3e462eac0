// A Star Attention host: one GPUDevice, a replica of the model, and the KV cache of its blocks.
// The same class runs in-process (Node, or a tab) and inside workers/host.worker.ts behind comlink,
// so every method takes and returns plain data.
import { Gpu } from '../gpu/gpu.ts';
import type { AdapterReport } from '../gpu/device.ts';
import { parseModelConfig, type ModelConfig } from '../model/config.ts';
import { loadWeights, type ModelWeights, type WeightType } from '../model/weights.ts';
import { openModelSource } from '../model/source/model-source.ts';
import { defaultKvType, KvCache, type KvShape } from '../model/kv-cache.ts';
import { kvElementBytes, type KvType } from '../gpu/kernels/kv-store.ts';
import { pieceRowsFor, planMemory } from '../model/memory-plan.ts';
import { Transformer, type CitationRequest, type CitationShares, type HostPartial, type RemoteAttention } from '../model/transformer.ts';
import type { CitationGrid } from '../gpu/kernels/attention.ts';
import { AnswerDecoder, type AnswerOptions } from '../model/answer-decoder.ts';
import type { ModelSource, PlacementEvent } from './reader-api.ts';
import { HostError } from './host-error.ts';
import {
  crc32,
  inPieces,
  SavedDocumentError,
  shardPieceBytes,
  type DocumentStore,
  type ShardReader,
  type ShardRecord,
  type ShardWriter,
} from './document-store.ts';

export interface HostOpenOptions {
  model: ModelSource;
  weightType?: WeightType;
  /** Keep an untied model's input embedding in CPU memory (see LoadWeightsOptions.cpuEmbedding). */
  cpuEmbedding?: boolean;
  /** Rows one forward piece processes; bounds activation memory and the work in one submission. */
  maxRows?: number;
  /** See TransformerOptions.ropeDType. */
  ropeDType?: 'f32' | 'f16' | 'bf16';
  /** Largest KV cache chunk in bytes (default: the device's storage binding limit). */
  maxKvChunkBytes?: number;
  /** The KV cache's element type (default f16: half the memory of f32, on every adapter). */
  kvType?: KvType;
  /** Which GPU this host runs on, where the machine has several. */
  adapter?: AdapterChoice;
  /**
   * Bytes the model may use on this device (WebGPU does not tell a GPU's memory). With it, a model
   * whose weights and scratch alone would not fit is refused before anything is downloaded.
   */
  deviceMemoryBudget?: number;
  /** The weights' placement on the GPU, tensor by tensor. */
  onProgress?: (p: PlacementEvent) => void;
  signal?: AbortSignal;
}

/** An adapter for a host: by power preference (browser and Node) or by name (Node, Dawn). */
export interface AdapterChoice {
  powerPreference?: GPUPowerPreference;
  name?: string;
}

export interface HostInfo {
  index: number;
  adapter: AdapterReport;
  config: ModelConfig;
  weightBytes: number;
  /** Rows of this host's prefill pieces (its Transformer's maxRows): its activation scratch. */
  pieceRows: number;
}

/** What one host encodes in phase 1: a run of consecutive blocks of the context. */
export interface EncodeJob {
  /** Tokens of this host's blocks; their position ids are start, start+1, … */
  ids: readonly number[];
  start: number;
  attention: 'star' | 'full';
  blockSize: number;
  anchorSize: number;
  /** The anchor's tokens (the first anchorSize of block 0), for a host that does not hold block 0. */
  anchorIds?: readonly number[];
  /** KV rows to allocate up front: the blocks plus, on the query host, room for questions and answers. */
  capacity: number;
  /** The most positions the conversation may reach (document + room): LongRoPE's factors follow it. */
  conversationLength: number;
}

export interface EncodeResult {
  tokens: number;
  ms: number;
  kvBytes: number;
}

/** One file of one saved document: where a host saves its shard, or reopens it from. */
export interface ShardTarget {
  store: DocumentStore;
  id: string;
  file: string;
}

/** Pieces queued for upload before waiting for the GPU: bounds the copies the queue holds. */
const uploadPiecesInFlight = 16;

export class Host {
  private cache: KvCache | undefined;
  /** A reopened shard, held until every host has read its own (finishLoad), so a failure loses nothing. */
  private staged: KvCache | undefined;
  private answer: AnswerDecoder | undefined;
  private lost: string | undefined;

  private constructor(
    readonly index: number,
    private readonly gpu: Gpu,
    private readonly config: ModelConfig,
    private readonly weights: ModelWeights,
    private readonly transformer: Transformer,
    private readonly maxKvChunkBytes: number | undefined,
    private readonly kvType: KvType,
  ) {}

  static async open(index: number, options: HostOpenOptions): Promise<Host> {
    let lostReason: string | undefined;
    let host: Host | undefined;
    const gpu = await Gpu.create({
      powerPreference: options.adapter?.powerPreference,
      adapterName: options.adapter?.name,
      onLost: (info) => {
        lostReason = `GPU device lost (${info.reason}): ${info.message}`;
        if (host) host.lost = lostReason;
      },
    });
    try {
      const source = openModelSource(options.model);
      const configJson = await source.readJson('config.json');
      if (configJson === undefined) throw new Error(`${source.name} has no config.json`);
      const config = parseModelConfig(configJson);
      const planOptions = {
        contextTokens: 0,
        weightType: options.weightType ?? 'f32',
        cpuEmbedding: options.cpuEmbedding,
        kvType: options.kvType ?? defaultKvType,
        limits: gpu.device.limits,
        deviceMemoryBudget: options.deviceMemoryBudget,
      };
      const maxRows = pieceRowsFor(config, planOptions, { runsOnCpu: gpu.adapter.runsOnCpu, maxStorageBufferBindingSize: gpu.maxBindingBytes }, options.maxRows);
      const memory = planMemory(config, { ...planOptions, prefillRows: maxRows });
      if (!memory.fits) throw new Error(memory.message);
      const weights = await loadWeights(gpu, source, config, {
        weightType: options.weightType,
        cpuEmbedding: options.cpuEmbedding,
        onProgress: options.onProgress && ((p) => options.onProgress?.({ type: 'place', ...p })),
        signal: options.signal,
      });
      const transformer = new Transformer(gpu, config, weights, { maxRows, ropeDType: options.ropeDType });
      host = new Host(index, gpu, config, weights, transformer, options.maxKvChunkBytes, options.kvType ?? defaultKvType);
      host.lost = lostReason;
      return host;
    } catch (error) {
      gpu.destroy();
      throw error;
    }
  }

  info(): HostInfo {
    return { index: this.index, adapter: this.gpu.adapter, config: this.config, weightBytes: this.weights.bytes, pieceRows: this.transformer.maxRows };
  }

  /**
   * Phase 1 for this host's blocks. Star: block 0 (if held here) alone, causally; every later block
   * over [anchor ; block], the anchor being block 0's KV — encoded once on this host, never per block.
   * Full: one causal pass. Replaces any previous document. Cancelling leaves the host empty and usable.
   */
  async encode(job: EncodeJob, onProgress?: (tokensDone: number) => void, signal?: AbortSignal): Promise<EncodeResult> {
    this.checkAlive();
    const started = performance.now();
    await this.endAnswer();
    this.cache?.destroy();
    const shape = this.kvShape();
    const cache = new KvCache(this.gpu, shape, job.capacity, job.attention === 'star' ? job.blockSize : 1, this.maxKvChunkBytes);
    this.cache = cache;
    const { conversationLength } = job;
    let anchorCache: KvCache | undefined;
    try {
      const t = this.transformer;
      const progress = (done: number) => onProgress?.(done);
      if (job.attention === 'full') {
        await t.forward({ ids: job.ids, firstPosition: job.start, cache, attention: { kind: 'causal' }, logits: 'none', onPiece: progress, signal, conversationLength });
      } else {
        let first = 0;
        if (job.start === 0) {
          // This host holds block 0: encode it alone; its KV is the anchor of every later block.
          first = Math.min(job.blockSize, job.ids.length);
          await t.forward({ ids: job.ids.slice(0, first), firstPosition: 0, cache, attention: { kind: 'causal' }, logits: 'none', onPiece: progress, signal, conversationLength });
          anchorCache = cache;
        } else {
          if (!job.anchorIds || job.anchorIds.length !== job.anchorSize) {
            throw new Error(`a host without block 0 needs the anchor's ${job.anchorSize} tokens`);
          }
          // The anchor's KV, computed once on this device and dropped after phase 1.
          anchorCache = new KvCache(this.gpu, shape, job.anchorSize, 1, this.maxKvChunkBytes);
          await t.forward({ ids: job.anchorIds, firstPosition: 0, cache: anchorCache, attention: { kind: 'causal' }, logits: 'none', signal, conversationLength });
        }
        if (first < job.ids.length) {
          await t.forward({
            ids: job.ids.slice(first),
            firstPosition: job.start + first,
            cache,
            attention: { kind: 'star-blocks', blockSize: job.blockSize, anchorRows: job.anchorSize, anchorCache },
            logits: 'none',
            onPiece: (done) => progress(first + done),
            signal,
            conversationLength,
          });
        }
      }
      await this.gpu.finish();
    } catch (error) {
      cache.destroy();
      this.cache = undefined;
      throw this.wrap(error);
    } finally {
      if (anchorCache && anchorCache !== cache) anchorCache.destroy();
    }
    return { tokens: job.ids.length, ms: performance.now() - started, kvBytes: cache.bytes };
  }

  /** Phase 2 on another host: this host's partial attention over its whole KV shard at `layer`. */
  async partialAttention(layer: number, q: Float32Array, rows: number, firstPosition: number, grid?: CitationGrid): Promise<HostPartial> {
    this.checkAlive();
    try {
      return await this.transformer.partialAttention(this.requireCache(), layer, q, rows, firstPosition, grid);
    } catch (error) {
      throw this.wrap(error);
    }
  }

  /**
   * Phase 2 on the query host: feeds tokens (a question, or the last generated token) at the next
   * positions, appending their KV here, and returns the logits of the last row or of every row.
   */
  async feed(ids: readonly number[], firstPosition: number, logits: 'last' | 'all', remote?: RemoteAttention): Promise<Float32Array> {
    this.checkAlive();
    try {
      const out = await this.transformer.forward({ ids, firstPosition, cache: this.requireCache(), attention: { kind: 'causal' }, logits, remote });
      if (!out) throw new Error('no logits');
      return await this.gpu.readF32(out);
    } catch (error) {
      throw this.wrap(error);
    }
  }

  /** Saves the first `rows` rows of this host's KV (the document, not the conversation after it). */
  async saveShard(target: ShardTarget, rows: number): Promise<ShardRecord> {
    return this.writeShard(await target.store.openWriter(target.id, target.file), target.file, rows);
  }

  /** saveShard onto an open writer: GPU readbacks of a few MiB, each checksummed and written in turn. */
  async writeShard(writer: ShardWriter, file: string, rows: number): Promise<ShardRecord> {
    this.checkAlive();
    const pieceCrc32: number[] = [];
    try {
      const cache = this.requireCache();
      if (rows > cache.length) throw new Error(`cannot save ${rows} KV rows: the host holds ${cache.length}`);
      for await (const piece of inPieces(cache.readRows(rows, shardPieceBytes), shardPieceBytes)) {
        pieceCrc32.push(crc32(piece));
        await writer.write(piece);
      }
      await writer.close();
      return {
        host: this.index,
        file,
        rows,
        runs: cache.positionRuns(rows),
        dtype: cache.shape.dtype,
        layers: cache.shape.layers,
        kvHeads: cache.shape.kvHeads,
        headDim: cache.shape.headDim,
        rowBytes: cache.rowBytes,
        layout: 'layer-keys-values',
        alignRows: cache.alignedTo(),
        bytes: rows * cache.bytesPerToken,
        pieceBytes: shardPieceBytes,
        pieceCrc32,
      };
    } catch (error) {
      await writer.abort().catch(() => {});
      throw this.wrap(error);
    }
  }

  /**
   * Reads a saved shard into a new cache of `capacity` rows, checking each piece's checksum before it
   * is uploaded. The host's current document stays until finishLoad(true).
   */
  async loadShard(target: ShardTarget, record: ShardRecord, capacity: number): Promise<void> {
    return this.readShard(await target.store.openReader(target.id, target.file), record, capacity);
  }

  async readShard(reader: ShardReader, record: ShardRecord, capacity: number): Promise<void> {
    this.checkAlive();
    let cache: KvCache | undefined;
    try {
      this.checkShardShape(record, reader.size);
      cache = new KvCache(this.gpu, this.kvShape(), Math.max(capacity, record.rows), record.alignRows, this.maxKvChunkBytes);
      for (const run of record.runs) {
        if (cache.append(run.length, run.position) !== run.row) throw corrupted(record, 'its position runs do not tile its rows');
      }
      if (cache.length !== record.rows) throw corrupted(record, 'its position runs do not tile its rows');
      const upload = cache.rowWriter(record.rows);
      for (let i = 0, at = 0; at < record.bytes; i++, at += record.pieceBytes) {
        const length = Math.min(record.pieceBytes, record.bytes - at);
        const piece = await reader.read(length);
        if (piece.byteLength !== length) throw corrupted(record, `it ends at byte ${at + piece.byteLength} of ${record.bytes}`);
        if (crc32(piece) !== record.pieceCrc32[i]) throw corrupted(record, `bytes ${at}–${at + length} do not match their checksum`);
        upload(piece);
        if (i % uploadPiecesInFlight === uploadPiecesInFlight - 1) await this.gpu.finish();
      }
      await this.gpu.finish();
      this.staged?.destroy();
      this.staged = cache;
    } catch (error) {
      cache?.destroy();
      throw this.wrap(error);
    } finally {
      await reader.close().catch(() => {});
    }
  }

  /** Makes the staged shard this host's document (keep) or drops it (another host failed to read its own). */
  async finishLoad(keep: boolean): Promise<void> {
    if (keep && this.staged) {
      // An answer holds the old cache: it ends with it.
      await this.endAnswer();
      this.cache?.destroy();
      this.cache = this.staged;
    } else this.staged?.destroy();
    this.staged = undefined;
  }

  private kvShape(): KvShape {
    return { layers: this.config.layers, kvHeads: this.config.kvHeads, headDim: this.config.headDim, dtype: this.kvType };
  }

  /** Refuses, before any upload, a shard of another layout or KV type, or a file whose size is not the manifest's. */
  private checkShardShape(record: ShardRecord, fileBytes: number): void {
    const c = this.config;
    if ((record.dtype !== 'f32' && record.dtype !== 'f16') || record.layout !== 'layer-keys-values') {
      throw corrupted(record, `its layout (${record.dtype}, ${record.layout}) is not one this Star Reader reads`);
    }
    if (record.dtype !== this.kvType) {
      throw new SavedDocumentError(`${record.file} holds a ${record.dtype} KV cache; this host keeps its KV cache in ${this.kvType}`);
    }
    if (record.layers !== c.layers || record.kvHeads !== c.kvHeads || record.headDim !== c.headDim || record.rowBytes !== c.kvHeads * c.headDim * kvElementBytes(record.dtype)) {
      throw new SavedDocumentError(
        `${record.file} holds KV for ${record.layers} layers × ${record.kvHeads} KV heads × ${record.headDim}; the model has ${c.layers} × ${c.kvHeads} × ${c.headDim}`,
      );
    }
    const expected = record.rows * 2 * record.layers * record.rowBytes;
    if (record.bytes !== expected || record.pieceCrc32.length !== Math.ceil(expected / record.pieceBytes)) {
      throw corrupted(record, 'its manifest entry is inconsistent');
    }
    if (fileBytes !== record.bytes) throw corrupted(record, `it is ${fileBytes} bytes, the manifest says ${record.bytes} (truncated or changed)`);
  }

  /**
   * Starts an answer: its tokens are chosen on this host's GPU (see src/model/answer-decoder.ts). With
   * `citations`, the decoded tokens' attention per span of the document is recorded too (readCitations).
   */
  async beginAnswer(options: AnswerOptions, citations?: CitationRequest): Promise<void> {
    this.checkAlive();
    await this.endAnswer();
    this.answer = new AnswerDecoder(this.gpu, this.transformer, this.requireCache(), options);
    if (citations) this.transformer.startCitations(citations);
  }

  /** The citations recorded in this answer for its first `rows` decoded tokens; undefined when none are. */
  async readCitations(rows: number): Promise<CitationShares | undefined> {
    this.checkAlive();
    if (!this.answer || !this.transformer.citing) return undefined;
    try {
      return await this.transformer.readCitations(rows);
    } catch (error) {
      throw this.wrap(error);
    }
  }

  /** Feeds ids at the next positions (the question, then each chosen token); returns the next chosen id. */
  async step(ids: readonly number[], firstPosition: number, remote?: RemoteAttention): Promise<number> {
    this.checkAlive();
    if (!this.answer) throw new Error('step() outside an answer: call beginAnswer() first');
    try {
      return await this.answer.step(ids, firstPosition, remote);
    } catch (error) {
      throw this.wrap(error);
    }
  }

  /** Ends the answer; a token computed ahead and not fed is dropped from the KV. */
  async endAnswer(): Promise<void> {
    const answer = this.answer;
    this.answer = undefined;
    try {
      if (answer && !this.lost) await answer.end();
    } finally {
      this.transformer.stopCitations();
    }
  }

  /** KV rows held; truncate() rolls back to an earlier length (an aborted question). */
  kvLength(): number {
    return this.cache?.length ?? 0;
  }

  async truncate(rows: number): Promise<void> {
    await this.endAnswer();
    this.requireCache().truncate(rows);
  }

  kvBytes(): number {
    return this.cache?.bytes ?? 0;
  }

  dispose(): void {
    this.cache?.destroy();
    this.staged?.destroy();
    this.transformer.destroy();
    this.weights.destroy();
    this.gpu.destroy();
  }

  private requireCache(): KvCache {
    if (!this.cache) throw new Error('no document encoded yet');
    return this.cache;
  }

  private checkAlive(): void {
    if (this.lost) throw new HostError(this.index, this.lost, 'device-lost');
  }

  private wrap(error: unknown): Error {
    if (error instanceof HostError || error instanceof SavedDocumentError) return error;
    if (this.lost) return new HostError(this.index, this.lost, 'device-lost', { cause: error });
    if (error instanceof DOMException && error.name === 'AbortError') return error;
    return new HostError(this.index, error instanceof Error ? error.message : String(error), 'failed', { cause: error });
  }
}

function corrupted(record: ShardRecord, why: string): SavedDocumentError {
  return new SavedDocumentError(`The saved shard ${record.file} is corrupted: ${why}`);
}
