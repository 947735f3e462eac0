// A host living in another thread (a browser Worker or a Node worker_thread), driven through comlink.
// A thread that dies (an uncaught error, out of memory, killed) fails every pending and later call
// with an error naming the host, instead of leaving them waiting forever.
import * as Comlink from 'comlink';
import type { HostWorkerApi } from '../../workers/host.worker.ts';
import type { HostHandle, HostOpenRequest } from './engine.ts';
import { HostError } from './host.ts';

/** The thread a host runs in, as the two platforms expose it. */
export interface HostThread {
  endpoint: Comlink.Endpoint;
  /** Registers the callback for the thread's death. */
  onCrash(callback: (detail: string) => void): void;
  terminate(): void;
}

export async function openRemoteHost(index: number, request: HostOpenRequest, thread: HostThread): Promise<HostHandle> {
  const remote = Comlink.wrap<HostWorkerApi>(thread.endpoint);
  let crashed: HostError | undefined;
  let rejectPending: (error: HostError) => void = () => {};
  const crash = new Promise<never>((_, reject) => {
    rejectPending = reject;
  });
  crash.catch(() => {}); // observed through guard()
  const fail = (detail: string) => {
    crashed ??= new HostError(index, `its worker stopped (${detail}); reload the model to continue`);
    rejectPending(crashed);
  };
  thread.onCrash(fail);

  const guard = <T>(call: () => Promise<T>): Promise<T> => (crashed ? Promise.reject(crashed) : Promise.race([call(), crash]));

  const { signal, onProgress } = request;
  // Only plain data crosses to the thread: the request may carry functions the engine was given.
  const plain = { model: request.model, weightType: request.weightType, maxRows: request.maxRows, ropeDType: request.ropeDType };
  const abortOpen = () => {
    thread.terminate();
    fail('loading was cancelled');
  };
  signal?.addEventListener('abort', abortOpen, { once: true });
  try {
    await guard(() => remote.open(index, { ...plain, onProgress: onProgress ? Comlink.proxy(onProgress) : undefined }));
  } catch (error) {
    thread.terminate();
    throw signal?.aborted ? signal.reason : error;
  } finally {
    signal?.removeEventListener('abort', abortOpen);
  }

  return {
    info: () => guard(() => remote.info()),
    async encode(job, progress, encodeSignal) {
      const abort = () => void remote.abortEncode();
      encodeSignal?.addEventListener('abort', abort, { once: true });
      try {
        return await guard(() => remote.encode(job, progress ? Comlink.proxy(progress) : undefined));
      } finally {
        encodeSignal?.removeEventListener('abort', abort);
      }
    },
    // q goes to every host: copied, not transferred.
    partialAttention: (layer, q, rows, firstPosition) => guard(() => remote.partialAttention(layer, q, rows, firstPosition)),
    feed: (ids, firstPosition, logits, remoteAttention) =>
      guard(() => remote.feed(ids, firstPosition, logits, remoteAttention ? Comlink.proxy(remoteAttention) : undefined)),
    kvLength: () => guard(() => remote.kvLength()),
    truncate: (rows) => guard(() => remote.truncate(rows)),
    kvBytes: () => guard(() => remote.kvBytes()),
    async dispose() {
      if (!crashed) await remote.dispose().catch(() => {});
      remote[Comlink.releaseProxy]();
      thread.terminate();
    },
  };
}
