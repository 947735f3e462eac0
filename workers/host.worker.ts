// A Star Attention host in its own thread (a browser Worker, or a Node worker_thread): one GPUDevice,
// a model replica and a KV shard, exposed with comlink. The main thread drives it through
// src/star/remote-host.ts; callbacks come as comlink proxies.
import * as Comlink from 'comlink';
import { Host, type EncodeJob } from '../src/star/host.ts';
import type { HostOpenRequest } from '../src/star/engine.ts';
import type { RemoteAttention } from '../src/model/transformer.ts';
import { parentEndpoint } from '#host-endpoint';

let host: Host | undefined;
let encoding: AbortController | undefined;

function opened(): Host {
  if (!host) throw new Error('host not opened');
  return host;
}

const api = {
  async open(index: number, request: Omit<HostOpenRequest, 'signal'>) {
    host = await Host.open(index, request);
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
  partialAttention: (layer: number, q: Float32Array, rows: number, firstPosition: number) =>
    opened().partialAttention(layer, q, rows, firstPosition),
  feed: (ids: readonly number[], firstPosition: number, logits: 'last' | 'all', remote?: RemoteAttention) =>
    opened().feed(ids, firstPosition, logits, remote),
  kvLength: () => opened().kvLength(),
  truncate: (rows: number) => opened().truncate(rows),
  kvBytes: () => opened().kvBytes(),
  dispose() {
    host?.dispose();
    host = undefined;
  },
};

export type HostWorkerApi = typeof api;

Comlink.expose(api, parentEndpoint());
