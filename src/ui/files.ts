// Files the user hands over: documents (one file) and model folders (picker or drag and drop).
import { filesByRelativePath } from '../star/page-support.ts';
import type { DocumentInput } from './session.ts';

/** Extensions the document panel takes; what extractText understands. */
export const documentAccept =
  '.txt,.text,.md,.markdown,.html,.htm,.xhtml,.pdf,text/plain,text/markdown,text/html,application/xhtml+xml,application/pdf';

/** Text from a .txt, .md, .html or .pdf file; throws DocumentError with a message for the user. */
export async function readDocumentFile(file: File): Promise<DocumentInput> {
  // Loaded on first use: the PDF reader is big and most sessions never need it.
  const { extractText } = await import('./documents/extract-text.ts');
  return { name: file.name, ...(await extractText(file)) };
}

export interface ModelFolder {
  name: string;
  files: Map<string, File>;
}

/** From <input webkitdirectory> (paths "folder/sub/file") or a set of dropped files. */
export function folderFromFileList(list: FileList | readonly File[]): ModelFolder {
  const all = Array.from(list);
  const first = all[0]?.webkitRelativePath ?? '';
  return { name: first.includes('/') ? first.slice(0, first.indexOf('/')) : 'selected files', files: filesByRelativePath(all) };
}

/** A dropped folder (walked recursively) or a set of dropped files. */
export async function folderFromDrop(data: DataTransfer): Promise<ModelFolder> {
  const entries = Array.from(data.items)
    .map((item) => item.webkitGetAsEntry?.())
    .filter((entry): entry is FileSystemEntry => !!entry);
  const folder = entries.length === 1 && entries[0].isDirectory ? (entries[0] as FileSystemDirectoryEntry) : undefined;
  if (!folder) return folderFromFileList(Array.from(data.files));
  const files = new Map<string, File>();
  await walk(folder, '', files);
  return { name: folder.name, files };
}

async function walk(directory: FileSystemDirectoryEntry, prefix: string, out: Map<string, File>): Promise<void> {
  const reader = directory.createReader();
  // readEntries returns at most ~100 entries per call: read until it returns none.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return;
    for (const entry of batch) {
      if (entry.isDirectory) await walk(entry as FileSystemDirectoryEntry, `${prefix}${entry.name}/`, out);
      else out.set(`${prefix}${entry.name}`, await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject)));
    }
  }
}

/** What a Hub-layout model folder must hold; an empty list means it looks loadable. */
export function missingModelFiles(files: ReadonlyMap<string, File>): string[] {
  const names = [...files.keys()];
  const missing: string[] = [];
  if (!files.has('config.json')) missing.push('config.json');
  if (!files.has('tokenizer.json')) missing.push('tokenizer.json');
  if (!names.some((n) => n.endsWith('.safetensors'))) missing.push('*.safetensors');
  return missing;
}
