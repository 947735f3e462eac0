// A Star Attention host in its own thread (a browser Worker, or a Node worker_thread): one GPUDevice,
// a model replica and a KV shard, exposed with comlink. The main thread drives it through
// src/star/remote-host.ts; callbacks come as comlink proxies.
import * as Comlink from 'comlink';
import { Host, type EncodeJob } from '../src/star/host.ts';
import { opfsDocumentStore } from '../src/star/document-store.opfs.ts';
import type { OpfsLocation, ShardReader, ShardRecord, ShardWriter } from '../src/star/document-store.ts';
import { fromHostErrorData, toHostErrorData } from '../src/star/host-error.ts';
import type { HostOpenRequest } from '../src/star/engine.ts';
import type { CitationRequest, RemoteAttention } from '../src/model/transformer.ts';
import type { CitationGrid } from '../src/gpu/kernels/attention.ts';
import type { AnswerOptions } from '../src/model/answer-decoder.ts';
import { parentEndpoint } from '#host-endpoint';

let host: Host | undefined;
let encoding: AbortController | undefined;

function opened(): Host {
  if (!host) throw new Error('host not opened');
  return host;
}

const api = {
  async open(index: number, request: Omit<HostOpenRequest, 'signal' | 'onProgress'>, onProgress?: HostOpenRequest['onProgress']) {
    host = await Host.open(index, { ...request, onProgress });
    return host.info();
  },
  info: () => opened().info(),
  async encode(job: EncodeJob, onProgress?: (tokensDone: number) => void) {
    encoding = new AbortController();
    try {
      return await opened().encode(job, onProgress, encoding.signal);
    } finally {
      encoding = undefined;
    }
  },
  abortEncode() {
    encoding?.abort(new DOMException('Encoding cancelled', 'AbortError'));
  },
  partialAttention: (layer: number, q: Float32Array, rows: number, firstPosition: number, grid?: CitationGrid) =>
    opened().partialAttention(layer, q, rows, firstPosition, grid),
  feed: (ids: readonly number[], firstPosition: number, logits: 'last' | 'all', remote?: RemoteAttention) =>
    opened().feed(ids, firstPosition, logits, remote && revivingErrors(remote)),
  beginAnswer: (options: AnswerOptions, citations?: CitationRequest) => opened().beginAnswer(options, citations),
  readCitations: (rows: number) => opened().readCitations(rows),
  step: (ids: readonly number[], firstPosition: number, remote?: RemoteAttention) =>
    opened().step(ids, firstPosition, remote && revivingErrors(remote)),
  endAnswer: () => opened().endAnswer(),
  kvLength: () => opened().kvLength(),
  truncate: (rows: number) => opened().truncate(rows),
  kvBytes: () => opened().kvBytes(),
  /** Writes the shard straight into OPFS from this Worker: the KV never crosses to the main thread. */
  saveShardAt: (location: OpfsLocation, id: string, file: string, rows: number) =>
    opened().saveShard({ store: opfsDocumentStore(location), id, file }, rows),
  /** The shard through a writer living in the main thread (a store this thread cannot open: a Node folder). */
  writeShard: (writer: ShardWriter, file: string, rows: number) => opened().writeShard(writer, file, rows),
  loadShardAt: (location: OpfsLocation, id: string, file: string, record: ShardRecord, capacity: number) =>
    opened().loadShard({ store: opfsDocumentStore(location), id, file }, record, capacity),
  readShard: (reader: Omit<ShardReader, 'size'>, size: number, record: ShardRecord, capacity: number) =>
    opened().readShard({ size, read: (bytes) => reader.read(bytes), close: () => reader.close() }, record, capacity),
  finishLoad: (keep: boolean) => opened().finishLoad(keep),
  dispose() {
    host?.dispose();
    host = undefined;
  },
};

/** Other hosts' failures come back through the main thread as data: make them HostErrors again. */
function revivingErrors(remote: RemoteAttention): RemoteAttention {
  return (...args) =>
    remote(...args).catch((error: unknown) => {
      throw fromHostErrorData(error);
    });
}

/** Every call, with HostErrors made plain data so their host and kind reach the main thread. */
const exposed = Object.fromEntries(
  Object.entries(api).map(([name, method]) => [
    name,
    async (...args: unknown[]) => {
      try {
        return await (method as (...a: unknown[]) => unknown)(...args);
      } catch (error) {
        throw toHostErrorData(error);
      }
    },
  ]),
) as unknown as typeof api;

export type HostWorkerApi = typeof api;

Comlink.expose(exposed, parentEndpoint());
