// Node: a model folder on disk (the CLI, benchmarks, tests). Kept apart from the other sources so the
// browser bundle never pulls in node:fs.
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { missingFile, parseJsonFile, type ModelFiles } from './model-files.ts';

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export function openDirectorySource(dir: string): ModelFiles {
  const name = dir;
  const pathOf = (path: string) => join(dir, path);
  return {
    name,
    async readJson(path) {
      let text: string;
      try {
        text = await readFile(pathOf(path), 'utf8');
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
      return parseJsonFile(text, path, name);
    },
    async size(path) {
      try {
        return (await stat(pathOf(path))).size;
      } catch (error) {
        if (isMissing(error)) throw missingFile(path, name);
        throw error;
      }
    },
    async read(path, offset, length) {
      const handle = await open(pathOf(path), 'r');
      try {
        const bytes = new Uint8Array(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(bytes, filled, length - filled, offset + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return filled === length ? bytes : bytes.subarray(0, filled);
      } finally {
        await handle.close();
      }
    },
  };
}
