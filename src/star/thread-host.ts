// Hosts in Node worker_threads, each with its own Dawn device: the same host code as the browser's
// Workers (workers/host.worker.ts), started through workers/host.thread.mjs.
import { Worker } from 'node:worker_threads';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { HostFactory } from './star-engine.ts';
import { openRemoteHost } from './remote-host.ts';

export const openThreadHost: HostFactory = threadHostFactory();

/** Thread hosts; `onWorker` sees each host's Worker as it starts (tests use it to kill one). */
export function threadHostFactory(onWorker?: (index: number, worker: Worker) => void): HostFactory {
  return (index, request) => openThreadHostWith(index, request, onWorker);
}

function openThreadHostWith(index: number, request: Parameters<HostFactory>[1], onWorker?: (index: number, worker: Worker) => void) {
  const worker = new Worker(new URL('../../workers/host.thread.mjs', import.meta.url), { name: `star-reader host ${index}` });
  worker.unref(); // a host never keeps the process alive on its own
  onWorker?.(index, worker);
  return openRemoteHost(index, request, {
    endpoint: nodeEndpoint(worker),
    onCrash(callback) {
      worker.on('error', (e) => callback(e.message));
      worker.on('exit', (code) => callback(`exited with code ${code}`));
    },
    terminate: () => void worker.terminate(),
  });
};
