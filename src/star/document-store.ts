// Saved documents: an encoded document (every host's KV shard, the token ids, the block plan) kept on
// disk so that reopening it skips phase 1. One entry is a folder of files: each host's shard, written
// first, then manifest.json, written LAST — the manifest is the commit. An entry without a manifest
// is an interrupted save (a closed tab, a full quota) and is never opened; every shard's size and the
// CRC-32 of every piece are checked before that piece reaches the GPU, so a corrupted file is
// reported, never read as KV.
//
// Stores: document-store.node.ts (a folder, Node) and document-store.opfs.ts (the browser's Origin
// Private File System, reachable from Workers too, so a host Worker writes its shard itself).
import type { BlockPlan } from './block-planner.ts';
import type { AttentionMode, EncodeStats } from './reader-api.ts';
import type { ModelFiles } from '../model/source/model-files.ts';
import type { WeightType } from '../model/weights.ts';
import type { KvType } from '../gpu/kernels/kv-store.ts';
import { indexFile, singleFile } from '../model/safetensors.ts';

export const manifestFile = 'manifest.json';
const manifestFormat = 'star-reader saved document';
const manifestVersion = 1;

/** Bytes a shard is written and checked in: bounds the memory a save or a reopen holds at once. */
export const shardPieceBytes = 4 << 20;

/** Sequential writes of one file; nothing is visible as a saved document until the manifest is committed. */
export interface ShardWriter {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /** Drops what was written (a failed save). */
  abort(): Promise<void>;
}

/** Sequential reads of one file. */
export interface ShardReader {
  readonly size: number;
  /** The next `bytes` bytes; fewer only at the end of the file. */
  read(bytes: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** A store a host thread can open by itself (plain data, so it crosses to a Worker). */
export interface OpfsLocation {
  kind: 'opfs';
  directory: string;
}

export interface StoreUsage {
  /** Bytes the saved documents take. */
  usedBytes: number;
  /** What the browser reports for this origin (navigator.storage.estimate), where it does. */
  originUsageBytes?: number;
  quotaBytes?: number;
  /** Whether the browser promised not to evict this origin's data (navigator.storage.persisted). */
  persisted?: boolean;
}

export interface StoreEntry {
  id: string;
  /** Bytes on disk, every file of the entry. */
  bytes: number;
  /** The committed manifest; undefined for an interrupted save (no manifest) or an unreadable one. */
  manifest?: SavedManifest;
  /** Why the entry cannot be opened, when it cannot. */
  problem?: string;
}

export interface DocumentStore {
  /** Shown in messages: a folder's path, or "this browser (OPFS)". */
  readonly name: string;
  /** Set where host threads can write their shards straight into the store (OPFS). */
  readonly hostLocation?: OpfsLocation;
  /** Every entry, complete or not, newest first. */
  list(): Promise<StoreEntry[]>;
  /** The committed manifest of `id`; throws SavedDocumentError when there is none or it is unreadable. */
  readManifest(id: string): Promise<SavedManifest>;
  openWriter(id: string, file: string): Promise<ShardWriter>;
  openReader(id: string, file: string): Promise<ShardReader>;
  /** Writes the manifest, making the entry complete: call only after every shard is closed. */
  commit(manifest: SavedManifest): Promise<void>;
  remove(id: string): Promise<void>;
  usage(): Promise<StoreUsage>;
}

export class SavedDocumentError extends Error {
  override name = 'SavedDocumentError';
}

/** Which model encoded the document: a KV shard is only valid for the same weights and weight type. */
export interface ModelIdentity {
  /** Where the model was read from (a folder, a URL): shown, not compared — a moved folder is the same model. */
  source: string;
  modelType: string;
  weightType: WeightType;
  /** SHA-256 of config.json and tokenizer.json, and of each weight file its size and a sampled SHA-256. */
  files: FileIdentity[];
}

export interface FileIdentity {
  path: string;
  bytes: number;
  /** Hex SHA-256 of the whole file (small files) or of its first and last `sampleBytes` (weights). */
  sha256: string;
  sampled: boolean;
}

/** How the document was read: the same settings give the same plan and so the same KV. */
export interface SavedSettings {
  attention: AttentionMode;
  blockSize: number;
  anchorSize: number;
  hosts: number;
  ropeDType: 'f32' | 'f16' | 'bf16';
  /** The KV cache's element type: the shards hold it, so a reader keeping another cannot open them. */
  kvType: KvType;
}

/** One host's KV rows, self-described so a change of dtype (an f16 cache) only changes these fields. */
export interface ShardRecord {
  host: number;
  file: string;
  /** Rows held, and the position ids they carry: rows [row, row + length) hold positions [position, …). */
  rows: number;
  runs: { row: number; position: number; length: number }[];
  dtype: KvType;
  layers: number;
  kvHeads: number;
  headDim: number;
  /** Bytes of one row of one layer's keys (or values). */
  rowBytes: number;
  /** File layout: for each layer, its keys' rows then its values' rows, each [rows, kvHeads, headDim]. */
  layout: 'layer-keys-values';
  /** Alignment the host's cache used (the block size under star attention), so reopening allocates alike. */
  alignRows: number;
  bytes: number;
  pieceBytes: number;
  /** CRC-32 of each piece of `pieceBytes` (the last one shorter). */
  pieceCrc32: number[];
}

/** What the reader adds to restore its own state: the text already in the KV and the prompt's parts. */
export interface ReaderState {
  system?: string;
  document: string;
  fed: string;
  /** Phase 1's stats when the document was read (what reopening saved). */
  encoded: EncodeStats;
}

export interface SavedManifest {
  format: typeof manifestFormat;
  version: typeof manifestVersion;
  id: string;
  name: string;
  savedAt: string;
  model: ModelIdentity;
  settings: SavedSettings;
  tokenIds: number[];
  plan: BlockPlan;
  shards: ShardRecord[];
  reader: ReaderState;
}

export type ManifestContent = Omit<SavedManifest, 'format' | 'version'>;

export function makeManifest(content: ManifestContent): SavedManifest {
  return { format: manifestFormat, version: manifestVersion, ...content };
}

/** Parses a manifest's text; throws SavedDocumentError saying what is wrong with it. */
export function parseManifest(text: string, id: string): SavedManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SavedDocumentError(`The saved document "${id}" has a corrupted manifest (${(error as Error).message})`);
  }
  const m = value as Partial<SavedManifest>;
  if (m?.format !== manifestFormat) throw new SavedDocumentError(`"${id}" is not a Star Reader saved document`);
  if (m.version !== manifestVersion) {
    throw new SavedDocumentError(`The saved document "${id}" has format version ${m.version}; this Star Reader reads version ${manifestVersion}`);
  }
  const complete =
    m.id === id && typeof m.name === 'string' && Array.isArray(m.tokenIds) && Array.isArray(m.shards) && m.plan && m.model && m.settings && m.reader;
  if (!complete) throw new SavedDocumentError(`The saved document "${id}" has a corrupted manifest (fields are missing)`);
  const manifest = m as SavedManifest;
  // Documents saved before the cache had an element type to choose kept f32.
  manifest.settings.kvType ??= 'f32';
  if (manifest.tokenIds.length !== manifest.plan.contextTokens) {
    throw new SavedDocumentError(
      `The saved document "${id}" has a corrupted manifest (${manifest.tokenIds.length} token ids for a plan of ${manifest.plan.contextTokens})`,
    );
  }
  return manifest;
}

/** Why a saved document cannot be opened with this model and these settings, or undefined when it can. */
export function incompatibility(saved: SavedManifest, model: ModelIdentity, settings: Partial<SavedSettings>): string | undefined {
  const reasons: string[] = [];
  if (saved.model.weightType !== model.weightType) reasons.push(`it was encoded with ${saved.model.weightType} weights, the model is loaded with ${model.weightType}`);
  const files = new Map(model.files.map((f) => [f.path, f]));
  const differing = saved.model.files.filter((f) => {
    const now = files.get(f.path);
    return !now || now.bytes !== f.bytes || now.sha256 !== f.sha256;
  });
  if (differing.length || saved.model.files.length !== model.files.length) {
    const which = differing.map((f) => f.path).join(', ') || 'its file list';
    reasons.push(`it was encoded by another model (${saved.model.source}; ${which} differ)`);
  }
  // Full attention is one pass on one host: block size, anchor and hosts do not apply to it.
  const compared: (keyof SavedSettings)[] =
    saved.settings.attention === 'full' ? ['attention', 'ropeDType', 'kvType'] : ['attention', 'blockSize', 'anchorSize', 'hosts', 'ropeDType', 'kvType'];
  for (const key of compared) {
    const wanted = settings[key];
    if (wanted !== undefined && wanted !== saved.settings[key]) reasons.push(`it was read with ${key} ${saved.settings[key]}, the reader asks for ${wanted}`);
  }
  return reasons.length ? `The saved document "${saved.name}" cannot be opened: ${reasons.join('; ')}` : undefined;
}

/** Bytes hashed at each end of a weight file: enough to tell checkpoints apart without reading GBs. */
const sampleBytes = 1 << 20;

/** The identity of the model `source` holds, loaded with `weightType`. */
export async function modelIdentity(source: ModelFiles, modelType: string, weightType: WeightType): Promise<ModelIdentity> {
  const files: FileIdentity[] = [];
  for (const path of ['config.json', 'tokenizer.json']) {
    const bytes = await source.size(path).catch(() => undefined);
    if (bytes !== undefined) files.push({ path, bytes, sha256: await sha256(await source.read(path, 0, bytes)), sampled: false });
  }
  for (const path of await weightFiles(source)) {
    const bytes = await source.size(path);
    const head = await source.read(path, 0, Math.min(bytes, sampleBytes));
    const tailStart = Math.max(head.byteLength, bytes - sampleBytes);
    const tail = await source.read(path, tailStart, bytes - tailStart);
    const both = new Uint8Array(head.byteLength + tail.byteLength);
    both.set(head);
    both.set(tail, head.byteLength);
    files.push({ path, bytes, sha256: await sha256(both), sampled: true });
  }
  return { source: source.name, modelType, weightType, files };
}

async function weightFiles(source: ModelFiles): Promise<string[]> {
  const index = (await source.readJson(indexFile)) as { weight_map?: Record<string, string> } | undefined;
  if (!index) return [singleFile];
  return [...new Set(Object.values(index.weight_map ?? {}))].sort();
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

const crcTable = (() => {
  const table = new Uint32Array(256 * 4);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  // Slicing by 4: four bytes per step, several times faster than one.
  for (let n = 0; n < 256; n++) {
    for (let s = 1; s < 4; s++) table[s * 256 + n] = (table[(s - 1) * 256 + n] >>> 8) ^ table[table[(s - 1) * 256 + n] & 0xff];
  }
  return table;
})();

/** CRC-32 (IEEE, as zlib computes it). */
export function crc32(bytes: Uint8Array): number {
  const t = crcTable;
  let crc = 0xffffffff;
  let i = 0;
  const aligned = bytes.byteLength & ~3;
  for (; i < aligned; i += 4) {
    crc ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    crc = t[768 + (crc & 0xff)] ^ t[512 + ((crc >>> 8) & 0xff)] ^ t[256 + ((crc >>> 16) & 0xff)] ^ t[crc >>> 24];
  }
  for (; i < bytes.byteLength; i++) crc = t[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** A new entry's id: sortable by time, unique enough for one user's saves. */
export function newDocumentId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:.TZ]/g, '');
  return `${stamp}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Ids name folders: refuse anything that could leave the store. */
export function checkId(id: string): string {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(id)) throw new SavedDocumentError(`"${id}" is not a saved document id`);
  return id;
}

/** Regroups byte pieces of any sizes into pieces of exactly `size` bytes (the last one shorter). */
export async function* inPieces(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let piece = new Uint8Array(size);
  let filled = 0;
  for await (const bytes of source) {
    let at = 0;
    while (at < bytes.byteLength) {
      const count = Math.min(size - filled, bytes.byteLength - at);
      piece.set(bytes.subarray(at, at + count), filled);
      filled += count;
      at += count;
      if (filled === size) {
        yield piece;
        piece = new Uint8Array(size);
        filled = 0;
      }
    }
  }
  if (filled) yield piece.subarray(0, filled);
}
