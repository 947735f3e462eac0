// Saved documents in the browser's Origin Private File System: one directory per document under
// `star-reader-documents`. OPFS works in Workers too, so a host Worker opens this store from its
// location and writes its shard itself, without moving gigabytes through the main thread.
// createWritable() writes to a swap file that replaces the file only on close(): a tab closed or a
// quota exceeded mid-write leaves no manifest, and no half-written file under its final name.
import {
  checkId,
  manifestFile,
  parseManifest,
  SavedDocumentError,
  type DocumentStore,
  type OpfsLocation,
  type SavedManifest,
  type StoreEntry,
} from './document-store.ts';

export const defaultOpfsDirectory = 'star-reader-documents';

/** Whether this context has OPFS (secure browser contexts, main thread and Workers). */
export function hasOpfs(): boolean {
  return typeof navigator !== 'undefined' && typeof navigator.storage?.getDirectory === 'function';
}

/** Asks the browser not to evict this origin's data under storage pressure; true when granted. */
export async function requestPersistentStorage(): Promise<boolean> {
  return typeof navigator.storage?.persist === 'function' ? navigator.storage.persist() : false;
}

/** OPFS directories are async-iterable; TypeScript's DOM lib here does not declare it. */
type ListableDirectory = FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };

export function opfsDocumentStore(location: OpfsLocation = { kind: 'opfs', directory: defaultOpfsDirectory }): DocumentStore {
  const root = async () => (await navigator.storage.getDirectory()).getDirectoryHandle(location.directory, { create: true });
  const folder = async (id: string, create = false) => (await root()).getDirectoryHandle(checkId(id), { create });
  const readText = async (id: string, file: string) => (await (await (await folder(id)).getFileHandle(file)).getFile()).text();
  const readManifest = async (id: string): Promise<SavedManifest> => {
    let text: string;
    try {
      text = await readText(id, manifestFile);
    } catch {
      throw new SavedDocumentError(`No complete saved document "${id}" in this browser (its save never finished, or it was deleted)`);
    }
    return parseManifest(text, id);
  };

  return {
    name: 'this browser (OPFS)',
    hostLocation: location,
    readManifest,
    async list() {
      const entries: StoreEntry[] = [];
      for await (const id of (await root() as ListableDirectory).keys()) {
        if (!/^[A-Za-z0-9_-]+$/.test(id)) continue;
        const bytes = await directoryBytes(await folder(id));
        try {
          entries.push({ id, bytes, manifest: await readManifest(id) });
        } catch (error) {
          entries.push({ id, bytes, problem: (error as Error).message });
        }
      }
      return entries.sort((a, b) => b.id.localeCompare(a.id));
    },
    async openWriter(id, file) {
      const handle = await (await folder(id, true)).getFileHandle(file, { create: true });
      const stream = await handle.createWritable();
      return {
        write: (bytes) => stream.write(bytes as Uint8Array<ArrayBuffer>),
        close: () => stream.close(),
        abort: () => stream.abort(),
      };
    },
    async openReader(id, file) {
      let blob: File;
      try {
        blob = await (await (await folder(id)).getFileHandle(file)).getFile();
      } catch {
        throw new SavedDocumentError(`The saved document "${id}" has no ${file}: it is incomplete`);
      }
      let position = 0;
      return {
        size: blob.size,
        async read(bytes) {
          const piece = new Uint8Array(await blob.slice(position, position + bytes).arrayBuffer());
          position += piece.byteLength;
          return piece;
        },
        close: async () => {},
      };
    },
    async commit(manifest) {
      const handle = await (await folder(manifest.id, true)).getFileHandle(manifestFile, { create: true });
      const stream = await handle.createWritable();
      await stream.write(JSON.stringify(manifest));
      await stream.close();
    },
    async remove(id) {
      await (await root()).removeEntry(checkId(id), { recursive: true }).catch((error: unknown) => {
        if (!(error instanceof DOMException && error.name === 'NotFoundError')) throw error;
      });
    },
    async usage() {
      const entries = await this.list();
      const estimate = await navigator.storage.estimate();
      return {
        usedBytes: entries.reduce((sum, e) => sum + e.bytes, 0),
        originUsageBytes: estimate.usage,
        quotaBytes: estimate.quota,
        persisted: typeof navigator.storage.persisted === 'function' ? await navigator.storage.persisted() : undefined,
      };
    },
  };
}

async function directoryBytes(directory: FileSystemDirectoryHandle): Promise<number> {
  let bytes = 0;
  for await (const name of (directory as ListableDirectory).keys()) {
    const handle = await directory.getFileHandle(name).catch(() => undefined);
    if (handle) bytes += (await handle.getFile()).size;
  }
  return bytes;
}
