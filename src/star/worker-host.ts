// Hosts in dedicated Workers (browser): each Worker owns its GPUDevice, so phase 1 runs on all of them at once.
import type { HostFactory } from './star-engine.ts';
import { openRemoteHost } from './remote-host.ts';

export const openWorkerHost: HostFactory = (index, request) => {
  const worker = new Worker(new URL('../../workers/host.worker.ts', import.meta.url), { type: 'module', name: `star-reader host ${index}` });
  return openRemoteHost(index, request, {
    endpoint: worker,
    onCrash(callback) {
      worker.addEventListener('error', (e) => callback(e.message || 'uncaught error'));
      worker.addEventListener('messageerror', () => callback('a message could not be read'));
    },
    terminate: () => worker.terminate(),
  });
};
