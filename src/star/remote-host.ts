// A host living in another thread (a browser Worker or a Node worker_thread), driven through comlink.
// A thread that dies (an uncaught error, out of memory, killed) fails every pending and later call
// with an error naming the host, instead of leaving them waiting forever.
import * as Comlink from 'comlink';
import type { HostWorkerApi } from './host-protocol.ts';
import type { HostHandle, HostOpenRequest } from './star-engine.ts';
import { fromHostErrorData, HostError, toHostErrorData } from './host-error.ts';

/** The thread a host runs in, as the two platforms expose it. */
export interface HostThread {
  endpoint: Comlink.Endpoint;
  /** Registers the callback for the thread's death. */
  onCrash(callback: (detail: string) => void): void;
  terminate(): void;
}

/** The callback with its HostErrors made plain data, so the thread calling it sees which host failed. */
function plainErrors<A extends unknown[], R>(callback: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await callback(...args);
    } catch (error) {
      throw toHostErrorData(error);
    }
  };
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
    crashed ??= new HostError(index, `its worker stopped (${detail}); reload the model to continue`, 'crashed');
    rejectPending(crashed);
  };
  thread.onCrash(fail);

  const guard = <T>(call: () => Promise<T>): Promise<T> => {
    if (crashed) return Promise.reject(crashed);
    const result = call().catch((error: unknown) => {
      throw fromHostErrorData(error);
    });
    return Promise.race([result, crash]);
  };

  const { signal, onProgress } = request;
  // Only plain data crosses to the thread: the request may carry functions the engine was given.
  const plain = {
    model: request.model,
    weightType: request.weightType,
    cpuEmbedding: request.cpuEmbedding,
    maxRows: request.maxRows,
    ropeDType: request.ropeDType,
    maxKvChunkBytes: request.maxKvChunkBytes,
    kvType: request.kvType,
    adapter: request.adapter,
    deviceMemoryBudget: request.deviceMemoryBudget,
  };
  const abortOpen = () => {
    thread.terminate();
    fail('loading was cancelled');
  };
  signal?.addEventListener('abort', abortOpen, { once: true });
  try {
    // comlink proxies only top-level arguments: the callback goes on its own.
    await guard(() => remote.open(index, plain, onProgress ? Comlink.proxy(onProgress) : undefined));
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
    partialAttention: (layer, q, rows, firstPosition, grid) => guard(() => remote.partialAttention(layer, q, rows, firstPosition, grid)),
    feed: (ids, firstPosition, logits, remoteAttention) =>
      guard(() => remote.feed(ids, firstPosition, logits, remoteAttention ? Comlink.proxy(plainErrors(remoteAttention)) : undefined)),
    beginAnswer: (options, citations) => guard(() => remote.beginAnswer(options, citations)),
    readCitations: (rows) => guard(() => remote.readCitations(rows)),
    step: (ids, firstPosition, remoteAttention) =>
      guard(() => remote.step(ids, firstPosition, remoteAttention ? Comlink.proxy(plainErrors(remoteAttention)) : undefined)),
    endAnswer: () => guard(() => remote.endAnswer()),
    kvLength: () => guard(() => remote.kvLength()),
    truncate: (rows) => guard(() => remote.truncate(rows)),
    kvBytes: () => guard(() => remote.kvBytes()),
    // A store the Worker can open (OPFS) is written from there; any other through this thread.
    async saveShard({ store, id, file }, rows) {
      if (store.hostLocation) return guard(() => remote.saveShardAt(store.hostLocation!, id, file, rows));
      const writer = await store.openWriter(id, file);
      return guard(() => remote.writeShard(Comlink.proxy(writer), file, rows));
    },
    async loadShard({ store, id, file }, record, capacity) {
      if (store.hostLocation) return guard(() => remote.loadShardAt(store.hostLocation!, id, file, record, capacity));
      const reader = await store.openReader(id, file);
      return guard(() => remote.readShard(Comlink.proxy(reader), reader.size, record, capacity));
    },
    finishLoad: (keep) => guard(() => remote.finishLoad(keep)),
    async dispose() {
      if (!crashed) await remote.dispose().catch(() => {});
      remote[Comlink.releaseProxy]();
      thread.terminate();
    },
  };
}
