// Node worker_thread entry: registers tsx so the TypeScript host worker runs without a build step.
import { register } from 'tsx/esm/api';

register();
await import('./host.worker.ts');
