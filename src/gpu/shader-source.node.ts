// Node: WGSL is read from shaders/ on disk, the same files Vite bundles for the browser.
import { readFileSync } from 'node:fs';

const shaderDir = new URL('../../shaders/', import.meta.url);

export function shaderSource(name: string): string {
  try {
    return readFileSync(new URL(`${name}.wgsl`, shaderDir), 'utf8');
  } catch {
    throw new Error(`No shader named "${name}" (looked for shaders/${name}.wgsl)`);
  }
}
