// What every model source gives the loader: random access to the files of one model (config,
// tokenizer, weights), by path relative to the model's folder. The sources: file-source.ts (picked or
// dropped files), url-source.ts (HTTP, cached in the browser), directory-source.node.ts (a folder on disk).

/** Random access to the files of one model, by path relative to the model's folder. */
export interface ModelFiles {
  /** Shown in messages: a folder, a URL or "selected files". */
  readonly name: string;
  /** A parsed JSON file, or undefined when the source has no such file. */
  readJson(path: string): Promise<unknown | undefined>;
  /** Size of a file in bytes; throws ModelSourceError when there is no such file. */
  size(path: string): Promise<number>;
  /** `length` bytes from `offset`; fewer only when the file ends first. */
  read(path: string, offset: number, length: number): Promise<Uint8Array>;
}

export class ModelSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelSourceError';
  }
}

export function parseJsonFile(text: string, path: string, sourceName: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ModelSourceError(`${path} in ${sourceName} is not valid JSON (${(error as Error).message})`);
  }
}

export function missingFile(path: string, sourceName: string): ModelSourceError {
  return new ModelSourceError(`No file "${path}" in ${sourceName}`);
}
