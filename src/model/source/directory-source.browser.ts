// Browser stand-in for weight-source.node.ts: a browser reads folders as picked File objects instead.
import type { WeightSource } from './weight-source.ts';

export function directoryWeightSource(dir: string): WeightSource {
  throw new Error(`A directory path (${dir}) is a Node-only model location; in a browser pick the folder's files`);
}
