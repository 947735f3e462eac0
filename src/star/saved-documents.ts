// The reader's saved documents: saving the open one, listing, reopening (refusing, with the reason,
// one that another model, weight type or setting encoded), deleting. The reader keeps its own
// conversation state; this keeps the store, the model's identity and the comparisons.
import type { StarEngine } from './star-engine.ts';
import type { ModelFiles } from '../model/source/model-files.ts';
import { kvElementBytes } from '../gpu/kernels/kv-store.ts';
import { defaultKvType } from '../model/kv-cache.ts';
import {
  incompatibility,
  modelIdentity,
  newDocumentId,
  type DocumentStore,
  type ModelIdentity,
  type ReaderState,
  type SavedManifest,
  type SavedSettings,
  type StoreEntry,
  type StoreUsage,
} from './document-store.ts';
import type { EncodeChoices, ReaderOptions, ReopenStats, SavedDocumentSummary } from './reader-api.ts';

export class SavedDocumentsError extends Error {
  override name = 'SavedDocumentsError';
}

/** The open document as the reader saves it: its token ids and the text already in the KV. */
export interface OpenDocument {
  tokenIds: readonly number[];
  state: ReaderState;
}

export class DocumentLibrary {
  private identity: Promise<ModelIdentity> | undefined;

  constructor(
    private readonly engine: StarEngine,
    private readonly source: ModelFiles,
    private readonly store: DocumentStore | undefined,
    private readonly options: Pick<ReaderOptions, 'weightType' | 'kvType' | EncodeChoicesKey>,
  ) {}

  async save(name: string, document: OpenDocument): Promise<SavedDocumentSummary> {
    const store = this.requireStore();
    const trimmed = name.trim();
    if (!trimmed) throw new SavedDocumentsError('A saved document needs a name');
    await this.checkSpace(store, document.tokenIds.length);
    const manifest = await this.engine.saveDocument({
      store,
      id: newDocumentId(),
      name: trimmed,
      model: await this.modelIdentity(),
      tokenIds: [...document.tokenIds],
      reader: document.state,
    });
    const entry = (await store.list()).find((e) => e.id === manifest.id);
    return this.summarize({ id: manifest.id, bytes: entry?.bytes ?? 0, manifest });
  }

  /** Reopens `id` on the engine, or throws why it cannot; returns the manifest the reader restores its state from. */
  async open(id: string, choices: EncodeChoices = {}): Promise<{ manifest: SavedManifest; stats: ReopenStats }> {
    const store = this.requireStore();
    const manifest = await store.readManifest(id);
    const problem = incompatibility(manifest, await this.modelIdentity(), this.expectedSettings(choices));
    if (problem) throw new SavedDocumentsError(problem);
    const restored = await this.engine.restoreDocument(store, manifest);
    const stats = { tokens: restored.tokens, reopenMs: restored.ms, name: manifest.name, document: manifest.reader.document, encoded: manifest.reader.encoded };
    return { manifest, stats };
  }

  async list(): Promise<SavedDocumentSummary[]> {
    if (!this.store) return [];
    const entries = await this.store.list();
    return Promise.all(entries.map((e) => this.summarize(e)));
  }

  async remove(id: string): Promise<void> {
    await this.requireStore().remove(id);
  }

  async usage(): Promise<StoreUsage> {
    return this.store ? this.store.usage() : { usedBytes: 0 };
  }

  private async summarize(entry: StoreEntry): Promise<SavedDocumentSummary> {
    const m = entry.manifest;
    if (!m) {
      const problem = entry.problem ?? 'its save never finished';
      return { id: entry.id, name: '', model: '', modelType: '', weightType: '', tokens: 0, attention: undefined, hosts: 0, bytes: entry.bytes, savedAt: '', problem };
    }
    return {
      id: entry.id,
      name: m.name,
      model: m.model.source,
      modelType: m.model.modelType,
      weightType: m.model.weightType,
      tokens: m.plan.contextTokens,
      attention: m.settings.attention,
      hosts: m.settings.hosts,
      bytes: entry.bytes,
      savedAt: m.savedAt,
      problem: incompatibility(m, await this.modelIdentity(), this.expectedSettings({})),
    };
  }

  /** Refuses up front a save the quota cannot hold (a write cut short would also be caught, later). */
  private async checkSpace(store: DocumentStore, tokens: number): Promise<void> {
    const { quotaBytes, originUsageBytes } = await store.usage();
    if (quotaBytes === undefined) return;
    const c = this.engine.info.config;
    const needed = tokens * 2 * c.layers * c.kvHeads * c.headDim * kvElementBytes(this.options.kvType ?? defaultKvType);
    const free = quotaBytes - (originUsageBytes ?? 0);
    if (needed > free) {
      throw new SavedDocumentsError(
        `Saving needs ${(needed / 1e6).toFixed(1)} MB but the browser leaves this site ${(Math.max(0, free) / 1e6).toFixed(1)} MB: delete saved documents or downloaded models first`,
      );
    }
  }

  /** The settings this reader was asked for explicitly; unset ones accept what the document was read with. */
  private expectedSettings(choices: EncodeChoices): Partial<SavedSettings> {
    return {
      attention: choices.attention ?? this.options.attention,
      blockSize: choices.blockSize ?? this.options.blockSize,
      anchorSize: choices.anchorSize ?? this.options.anchorSize,
      hosts: choices.hosts ?? this.options.hosts,
      kvType: this.options.kvType ?? defaultKvType,
    };
  }

  private modelIdentity(): Promise<ModelIdentity> {
    this.identity ??= modelIdentity(this.source, this.engine.info.config.modelType, this.options.weightType ?? 'f32');
    return this.identity;
  }

  private requireStore(): DocumentStore {
    if (!this.store) {
      throw new SavedDocumentsError('No document store: a browser keeps saved documents in OPFS; in Node pass documentStore: folderDocumentStore(dir) to createReader');
    }
    return this.store;
  }
}

type EncodeChoicesKey = keyof EncodeChoices;
