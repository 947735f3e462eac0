// Hosts in this thread, each with its own GPUDevice: Node (Dawn) and tests. Workers: worker-host.ts.
import { Host } from './host.ts';
import type { HostFactory } from './star-engine.ts';

export const openLocalHost: HostFactory = (index, request) => Host.open(index, request);
