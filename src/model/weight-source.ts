// Where a model's files come from: files the user picked or dropped (browser File objects), or a URL
// base (a Hugging Face repo's resolve/main/, or any static server), read with Range requests. In a
// browser a URL model is kept whole in the Cache API so the next visit needs no network.
// The Node directory source is in weight-source.node.ts, so browser bundles stay free of node:fs.

/** Random access to the files of one model, by path relative to the model's folder. */
export interface WeightSource {
  /** Shown in messages: a folder, a URL or "selected files". */
  readonly name: string;
  /** A parsed JSON file, or undefined when the source has no such file. */
  readJson(path: string): Promise<unknown | undefined>;
  /** Size of a file in bytes; throws WeightSourceError when there is no such file. */
  size(path: string): Promise<number>;
  /** `length` bytes from `offset`; fewer only when the file ends first. */
  read(path: string, offset: number, length: number): Promise<Uint8Array>;
}

/** Loading progress: bytes of tensor data placed so far, and the tensor being placed. */
export interface WeightProgress {
  bytesDone: number;
  bytesTotal: number;
  tensor: string;
}

export class WeightSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightSourceError';
  }
}

export function parseJsonFile(text: string, path: string, sourceName: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WeightSourceError(`${path} in ${sourceName} is not valid JSON (${(error as Error).message})`);
  }
}

export function missingFile(path: string, sourceName: string): WeightSourceError {
  return new WeightSourceError(`No file "${path}" in ${sourceName}`);
}

/** Files picked with a folder picker or dropped: relative path → File. */
export function fileWeightSource(files: ReadonlyMap<string, File>, name = 'selected files'): WeightSource {
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

export const modelCacheName = 'star-reader-models';

/**
 * No such file: a 404, or an HTML page where a model file was asked for — static hosts and dev
 * servers with a single-page-app fallback answer unknown paths with index.html and status 200.
 */
function isMissing(response: Response): boolean {
  return response.status === 404 || (response.ok && (response.headers.get('content-type') ?? '').startsWith('text/html'));
}

export interface UrlSourceOptions {
  /**
   * Keep each file whole in the Cache API (default: when the Cache API exists, i.e. in a browser
   * page or Worker in a secure context). Otherwise every read is a Range request.
   */
  cache?: boolean;
  /** Download progress of a file being fetched into the cache. */
  onDownload?: (progress: { file: string; bytesDone: number; bytesTotal: number }) => void;
  fetch?: typeof fetch;
}

/** A model served over HTTP: `base` is the folder URL, e.g. https://huggingface.co/org/model/resolve/main/. */
export function urlWeightSource(base: string, options: UrlSourceOptions = {}): WeightSource {
  const root = base.endsWith('/') ? base : `${base}/`;
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const useCache = options.cache ?? typeof caches !== 'undefined';
  if (useCache && typeof caches === 'undefined') {
    throw new WeightSourceError('The Cache API is not available here (it needs a browser and a secure context)');
  }
  const url = (path: string) => new URL(path, root).href;
  const httpError = (path: string, response: Response) =>
    response.status === 401 || response.status === 403
      ? new WeightSourceError(`${url(path)}: HTTP ${response.status} (a gated or private model needs access rights)`)
      : new WeightSourceError(`${url(path)}: HTTP ${response.status} ${response.statusText}`);

  if (useCache) return cachedUrlSource(root, url, doFetch, httpError, options.onDownload);

  return {
    name: root,
    async readJson(path) {
      const response = await doFetch(url(path));
      if (isMissing(response)) return undefined;
      if (!response.ok) throw httpError(path, response);
      return parseJsonFile(await response.text(), path, root);
    },
    async size(path) {
      const response = await doFetch(url(path), { method: 'HEAD' });
      if (isMissing(response)) throw missingFile(path, root);
      if (!response.ok) throw httpError(path, response);
      const length = response.headers.get('content-length');
      if (length === null) throw new WeightSourceError(`${url(path)}: the server sent no Content-Length`);
      return Number(length);
    },
    async read(path, offset, length) {
      if (length === 0) return new Uint8Array(0);
      const response = await doFetch(url(path), { headers: { Range: `bytes=${offset}-${offset + length - 1}` } });
      if (response.status === 416) return new Uint8Array(0); // range starts past the end of the file
      if (!response.ok) throw httpError(path, response);
      const bytes = new Uint8Array(await response.arrayBuffer());
      // A server that ignores Range answers 200 with the whole file.
      return response.status === 206 ? bytes : bytes.subarray(offset, offset + length);
    },
  };
}

function cachedUrlSource(
  root: string,
  url: (path: string) => string,
  doFetch: typeof fetch,
  httpError: (path: string, response: Response) => Error,
  onDownload: UrlSourceOptions['onDownload'],
): WeightSource {
  // One download per file, shared by concurrent readers. A 404 is cached too, so an offline visit
  // knows that a single-file model has no model.safetensors.index.json.
  const files = new Map<string, Promise<Blob | undefined>>();
  const load = (path: string) => {
    let file = files.get(path);
    if (!file) {
      file = cachedFile(path);
      files.set(path, file);
      file.catch(() => files.delete(path));
    }
    return file;
  };

  async function cachedFile(path: string): Promise<Blob | undefined> {
    const cache = await caches.open(modelCacheName);
    const key = url(path);
    let response = await cache.match(key);
    if (!response) {
      const fetched = await doFetch(key);
      if (!isMissing(fetched) && !fetched.ok) throw httpError(path, fetched);
      await cache.put(key, isMissing(fetched) ? new Response(null, { status: 404 }) : countedResponse(fetched, path, onDownload));
      response = await cache.match(key);
      if (!response) throw new WeightSourceError(`${key}: the browser did not keep the file in its cache (storage full?)`);
    }
    return response.status === 404 ? undefined : response.blob();
  }

  const blob = async (path: string) => {
    const file = await load(path);
    if (!file) throw missingFile(path, root);
    return file;
  };
  return {
    name: root,
    async readJson(path) {
      const file = await load(path);
      return file ? parseJsonFile(await file.text(), path, root) : undefined;
    },
    async size(path) {
      return (await blob(path)).size;
    },
    async read(path, offset, length) {
      return new Uint8Array(await (await blob(path)).slice(offset, offset + length).arrayBuffer());
    },
  };
}

/** The response with its body counted as it streams into the cache; a short body fails the put. */
function countedResponse(response: Response, file: string, onDownload: UrlSourceOptions['onDownload']): Response {
  const header = response.headers.get('content-length');
  const total = header === null ? 0 : Number(header);
  let done = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      done += chunk.byteLength;
      onDownload?.({ file, bytesDone: done, bytesTotal: Math.max(total, done) });
      controller.enqueue(chunk);
    },
    flush() {
      if (header !== null && done !== total) {
        throw new WeightSourceError(`${response.url}: download ended after ${done} of ${total} bytes`);
      }
    },
  });
  const headers = new Headers({ 'content-type': response.headers.get('content-type') ?? 'application/octet-stream' });
  if (header !== null) headers.set('content-length', header);
  return new Response(response.body ? response.body.pipeThrough(counter) : null, { status: 200, headers });
}

export interface CachedModel {
  /** The URL base the model was loaded from. */
  base: string;
  files: string[];
  bytes: number;
}

/** Models kept in the Cache API by urlWeightSource, grouped by folder URL. */
export async function listCachedModels(): Promise<CachedModel[]> {
  if (typeof caches === 'undefined') return [];
  const cache = await caches.open(modelCacheName);
  const models = new Map<string, CachedModel>();
  for (const request of await cache.keys()) {
    const cut = request.url.lastIndexOf('/') + 1;
    const base = request.url.slice(0, cut);
    const response = await cache.match(request);
    if (!response || response.status === 404) continue;
    let model = models.get(base);
    if (!model) {
      model = { base, files: [], bytes: 0 };
      models.set(base, model);
    }
    model.files.push(request.url.slice(cut));
    model.bytes += Number(response.headers.get('content-length') ?? 0);
  }
  return [...models.values()];
}

/** Removes every cached file under `base`; returns how many entries went. */
export async function clearCachedModel(base: string): Promise<number> {
  if (typeof caches === 'undefined') return 0;
  const root = base.endsWith('/') ? base : `${base}/`;
  const cache = await caches.open(modelCacheName);
  let removed = 0;
  for (const request of await cache.keys()) {
    if (request.url.startsWith(root) && (await cache.delete(request))) removed++;
  }
  return removed;
}
