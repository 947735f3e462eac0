// Saved documents in a folder (Node): one sub-folder per document, its shards, then manifest.json.
// The manifest is written to a temporary name and renamed, so it is either whole or absent.
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  checkId,
  manifestFile,
  parseManifest,
  SavedDocumentError,
  type DocumentStore,
  type SavedManifest,
  type ShardReader,
  type ShardWriter,
  type StoreEntry,
} from './document-store.ts';

export function folderDocumentStore(path: string): DocumentStore {
  const root = resolve(path);
  const folder = (id: string) => join(root, checkId(id));
  const readManifest = async (id: string): Promise<SavedManifest> => {
    let text: string;
    try {
      text = await readFile(join(folder(id), manifestFile), 'utf8');
    } catch {
      throw new SavedDocumentError(`No complete saved document "${id}" in ${root} (its save never finished, or it was deleted)`);
    }
    return parseManifest(text, id);
  };

  return {
    name: root,
    readManifest,
    async list() {
      const names = await readdir(root).catch(() => [] as string[]);
      const entries: StoreEntry[] = [];
      for (const id of names.filter((n) => /^[A-Za-z0-9_-]+$/.test(n))) {
        const bytes = await folderBytes(folder(id));
        try {
          entries.push({ id, bytes, manifest: await readManifest(id) });
        } catch (error) {
          entries.push({ id, bytes, problem: (error as Error).message });
        }
      }
      return entries.sort((a, b) => b.id.localeCompare(a.id));
    },
    async openWriter(id, file) {
      await mkdir(folder(id), { recursive: true });
      const path = join(folder(id), checkFile(file));
      return fileWriter(await open(path, 'w'), path);
    },
    async openReader(id, file) {
      const path = join(folder(id), checkFile(file));
      let handle: FileHandle;
      try {
        handle = await open(path, 'r');
      } catch {
        throw new SavedDocumentError(`The saved document "${id}" has no ${file}: it is incomplete`);
      }
      return fileReader(handle, (await handle.stat()).size);
    },
    async commit(manifest) {
      const temporary = join(folder(manifest.id), `${manifestFile}.partial`);
      await writeFile(temporary, JSON.stringify(manifest));
      await rename(temporary, join(folder(manifest.id), manifestFile));
    },
    async remove(id) {
      await rm(folder(id), { recursive: true, force: true });
    },
    async usage() {
      const entries = await this.list();
      return { usedBytes: entries.reduce((sum, e) => sum + e.bytes, 0) };
    },
  };
}

function checkFile(file: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(file) || file.startsWith('.')) throw new SavedDocumentError(`"${file}" is not a shard file name`);
  return file;
}

async function folderBytes(path: string): Promise<number> {
  const files = await readdir(path).catch(() => [] as string[]);
  const sizes = await Promise.all(files.map((f) => stat(join(path, f)).then((s) => s.size)));
  return sizes.reduce((a, b) => a + b, 0);
}

function fileWriter(handle: FileHandle, path: string): ShardWriter {
  return {
    async write(bytes) {
      await handle.write(bytes);
    },
    async close() {
      await handle.close();
    },
    async abort() {
      await handle.close().catch(() => {});
      await rm(path, { force: true });
    },
  };
}

function fileReader(handle: FileHandle, size: number): ShardReader {
  let position = 0;
  return {
    size,
    async read(bytes) {
      const buffer = new Uint8Array(Math.min(bytes, size - position));
      let filled = 0;
      while (filled < buffer.byteLength) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.byteLength - filled, position + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      position += filled;
      return buffer.subarray(0, filled);
    },
    async close() {
      await handle.close();
    },
  };
}
