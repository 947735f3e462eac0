// Inside a Node worker_thread, comlink talks over parentPort.
import { parentPort } from 'node:worker_threads';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { Endpoint } from 'comlink';

export function parentEndpoint(): Endpoint {
  if (!parentPort) throw new Error('workers/host.worker.ts must run in a worker thread');
  return nodeEndpoint(parentPort);
}
