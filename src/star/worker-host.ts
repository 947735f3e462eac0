// Hosts in dedicated Workers (browser): each Worker owns its GPUDevice, so phase 1 runs on all of them
// at once. A Worker that dies (an uncaught error, out of memory) fails every pending call with an
// error naming the host, instead of leaving them waiting forever.
import * as Comlink from 'comlink';
import type { HostWorkerApi } from '../../workers/host.worker.ts';
import type { HostFactory, HostHandle } from './engine.ts';
import { HostError } from './host.ts';

export const openWorkerHost: HostFactory = async (index, request) => {
  const worker = new Worker(new URL('../../workers/host.worker.ts', import.meta.url), { type: 'module', name: `star-reader host ${index}` });
  const remote = Comlink.wrap<HostWorkerApi>(worker);
  let crashed: HostError | undefined;
  let rejectAll: (error: HostError) => void = () => {};
  const crash = new Promise<never>((_, reject) => {
    rejectAll = reject;
  });
  crash.catch(() => {}); // observed through guard()
  const onCrash = (detail: string) => {
    crashed ??= new HostError(index, `its worker crashed (${detail}); reload the model to continue`);
    rejectAll(crashed);
  };
  worker.addEventListener('error', (e) => onCrash(e.message || 'error'));
  worker.addEventListener('messageerror', () => onCrash('a message could not be read'));

  const guard = <T>(call: () => Promise<T>): Promise<T> => {
    if (crashed) return Promise.reject(crashed);
    return Promise.race([call(), crash]);
  };

  const { signal, onProgress, ...plain } = request;
  const abortOpen = () => {
    worker.terminate();
    onCrash('loading was cancelled');
  };
  signal?.addEventListener('abort', abortOpen, { once: true });
  try {
    await guard(() => remote.open(index, { ...plain, onProgress: onProgress ? Comlink.proxy(onProgress) : undefined }));
  } catch (error) {
    worker.terminate();
    throw signal?.aborted ? signal.reason : error;
  } finally {
    signal?.removeEventListener('abort', abortOpen);
  }

  const handle: HostHandle = {
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
    partialAttention: (layer, q, rows, firstPosition) =>
      guard(() => remote.partialAttention(layer, q, rows, firstPosition)), // q goes to every host: copied, not transferred
    feed: (ids, firstPosition, logits, remoteAttention) =>
      guard(() => remote.feed(ids, firstPosition, logits, remoteAttention ? Comlink.proxy(remoteAttention) : undefined)),
    kvLength: () => guard(() => remote.kvLength()),
    truncate: (rows) => guard(() => remote.truncate(rows)),
    kvBytes: () => guard(() => remote.kvBytes()),
    async dispose() {
      if (!crashed) await remote.dispose().catch(() => {});
      remote[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
  return handle;
};
