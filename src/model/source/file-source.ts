// A model the user picked with a folder picker or dropped: browser File objects, keyed by path.
import { missingFile, parseJsonFile, type ModelFiles } from './model-files.ts';

/** Files picked with a folder picker or dropped: relative path → File. */
export function openFileSource(files: ReadonlyMap<string, File>, name = 'selected files'): ModelFiles {
  const get = (path: string) => {
    const file = files.get(path);
    if (!file) throw missingFile(path, name);
    return file;
  };
  return {
    name,
    async readJson(path) {
      const file = files.get(path);
      return file ? parseJsonFile(await file.text(), path, name) : undefined;
    },
    async size(path) {
      return get(path).size;
    },
    async read(path, offset, length) {
      return new Uint8Array(await get(path).slice(offset, offset + length).arrayBuffer());
    },
  };
}

/**
 * Keys files by their path inside the picked folder: `<input webkitdirectory>` gives paths like
 * "Qwen3-0.6B/config.json", and the folder's own name is not part of the model's layout.
 */
export function filesByRelativePath(files: Iterable<File>): Map<string, File> {
  const map = new Map<string, File>();
  for (const file of files) {
    const relative = file.webkitRelativePath || file.name;
    map.set(relative.includes('/') ? relative.slice(relative.indexOf('/') + 1) : relative, file);
  }
  return map;
}
