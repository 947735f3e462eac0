// A Star Attention host in its own thread (a browser Worker, or a Node worker_thread): one GPUDevice,
// a model replica and a KV shard, exposed with comlink. It implements the host protocol
// (src/star/host-protocol.ts), which the main thread drives through src/star/remote-host.ts;
// callbacks come as comlink proxies.
import * as Comlink from 'comlink';
import { Host } from '../src/star/host.ts';
import { opfsDocumentStore } from '../src/star/document-store.opfs.ts';
import { fromHostErrorData, toHostErrorData } from '../src/star/host-error.ts';
import type { HostWorkerApi, RemoteAttention } from '../src/star/host-protocol.ts';
import { parentEndpoint } from '#host-endpoint';

let host: Host | undefined;
let encoding: AbortController | undefined;

function opened(): Host {
  if (!host) throw new Error('host not opened');
  return host;
}

const api: HostWorkerApi = {
  async open(index, request, onProgress) {
    host = await Host.open(index, { ...request, onProgress });
    return host.info();
  },
  info: () => opened().info(),
  async encode(job, onProgress) {
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
  partialAttention: (layer, q, rows, firstPosition, grid) => opened().partialAttention(layer, q, rows, firstPosition, grid),
  feed: (ids, firstPosition, logits, remote) => opened().feed(ids, firstPosition, logits, remote && revivingErrors(remote)),
  beginAnswer: (options, citations) => opened().beginAnswer(options, citations),
  readCitations: (rows) => opened().readCitations(rows),
  step: (ids, firstPosition, remote) => opened().step(ids, firstPosition, remote && revivingErrors(remote)),
  endAnswer: () => opened().endAnswer(),
  kvLength: () => opened().kvLength(),
  truncate: (rows) => opened().truncate(rows),
  kvBytes: () => opened().kvBytes(),
  saveShardAt: (location, id, file, rows) => opened().saveShard({ store: opfsDocumentStore(location), id, file }, rows),
  writeShard: (writer, file, rows) => opened().writeShard(writer, file, rows),
  loadShardAt: (location, id, file, record, capacity) => opened().loadShard({ store: opfsDocumentStore(location), id, file }, record, capacity),
  readShard: (reader, size, record, capacity) =>
    opened().readShard({ size, read: (bytes) => reader.read(bytes), close: () => reader.close() }, record, capacity),
  finishLoad: (keep) => opened().finishLoad(keep),
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
) as unknown as HostWorkerApi;

Comlink.expose(exposed, parentEndpoint());
