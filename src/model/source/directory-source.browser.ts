// Browser stand-in for directory-source.node.ts: a browser reads folders as picked File objects instead.
import type { ModelFiles } from './model-files.ts';

export function openDirectorySource(dir: string): ModelFiles {
  throw new Error(`A directory path (${dir}) is a Node-only model source; in a browser pick the folder's files`);
}
