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
  /** Download progress of a file being fetched into the cache; `resumedFrom` when it continues an earlier download. */
  onDownload?: (progress: { file: string; bytesDone: number; bytesTotal: number; resumedFrom?: number }) => void;
  fetch?: typeof fetch;
  /** Stops downloads and reads; the bytes a download received stay in the cache for the next try. */
  signal?: AbortSignal;
  /**
   * A download goes to the cache in pieces of this many bytes as it arrives (default 16 MiB), so a
   * failure, a cancel or a closed tab keeps what arrived, and memory holds one piece at most.
   */
  pieceBytes?: number;
}

/** A model served over HTTP: `base` is the folder URL, e.g. https://huggingface.co/org/model/resolve/main/. */
export function urlWeightSource(base: string, options: UrlSourceOptions = {}): WeightSource {
  const root = base.endsWith('/') ? base : `${base}/`;
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const useCache = options.cache ?? typeof caches !== 'undefined';
  if (useCache && typeof caches === 'undefined') {
    throw new WeightSourceError('The Cache API is not available here (it needs a browser and a secure context)');
  }
  const { signal } = options;
  const url = (path: string) => new URL(path, root).href;
  const httpError = (path: string, response: Response) =>
    response.status === 401 || response.status === 403
      ? new WeightSourceError(`${url(path)}: HTTP ${response.status} (a gated or private model needs access rights)`)
      : new WeightSourceError(`${url(path)}: HTTP ${response.status} ${response.statusText}`);

  if (useCache) return cachedUrlSource(root, url, doFetch, httpError, options);

  return {
    name: root,
    async readJson(path) {
      const response = await doFetch(url(path), { signal });
      if (isMissing(response)) return undefined;
      if (!response.ok) throw httpError(path, response);
      return parseJsonFile(await response.text(), path, root);
    },
    async size(path) {
      const response = await doFetch(url(path), { method: 'HEAD', signal });
      if (isMissing(response)) throw missingFile(path, root);
      if (!response.ok) throw httpError(path, response);
      const length = response.headers.get('content-length');
      if (length === null) throw new WeightSourceError(`${url(path)}: the server sent no Content-Length`);
      return Number(length);
    },
    async read(path, offset, length) {
      if (length === 0) return new Uint8Array(0);
      const response = await doFetch(url(path), { headers: { Range: `bytes=${offset}-${offset + length - 1}` }, signal });
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
  options: UrlSourceOptions,
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
      await download(cache, key, path, { doFetch, httpError, ...options });
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

// A download in progress is kept as pieces: cache entries under the file's URL with this search
// parameter (the piece's first byte), each holding the file's size and validator in its headers.
// Once the last byte arrives the pieces become one entry under the file's URL and are deleted.
const pieceParam = 'star-reader-piece';
const totalHeader = 'x-star-reader-total';
const validatorHeader = 'x-star-reader-validator';
const defaultPieceBytes = 16 << 20;

function pieceUrl(key: string, start: number): string {
  const u = new URL(key);
  u.searchParams.set(pieceParam, String(start));
  return u.href;
}

/** The file's URL of a piece's URL, and where the piece starts; undefined for other URLs. */
function parsePieceUrl(pieceKey: string): { key: string; start: number } | undefined {
  const u = new URL(pieceKey);
  const start = u.searchParams.get(pieceParam);
  if (start === null) return undefined;
  u.searchParams.delete(pieceParam);
  return { key: u.href, start: Number(start) };
}

/** What identifies one version of a file: a strong ETag, or else Last-Modified. */
function validatorOf(response: Response): string | undefined {
  const etag = response.headers.get('etag');
  if (etag && !etag.startsWith('W/')) return etag;
  return response.headers.get('last-modified') ?? etag ?? undefined;
}

/** "bytes 100-199/1000" → { start: 100, total: 1000 } (total undefined for "/*"). */
function parseContentRange(header: string | null): { start: number; total: number | undefined } | undefined {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header?.trim() ?? '');
  return match ? { start: Number(match[1]), total: match[2] === '*' ? undefined : Number(match[2]) } : undefined;
}

interface HeldPieces {
  requests: Request[];
  /** Bytes held from the file's start. */
  bytes: number;
  total: number | undefined;
  validator: string | undefined;
}

/** The pieces of an earlier download of `key` that continue each other from byte 0; the rest are deleted. */
async function heldPieces(cache: Cache, key: string): Promise<HeldPieces> {
  const pieces: Array<{ request: Request; start: number; response: Response }> = [];
  for (const request of await cache.keys(key, { ignoreSearch: true })) {
    const piece = parsePieceUrl(request.url);
    const response = piece?.key === key ? await cache.match(request) : undefined;
    if (piece && response) pieces.push({ request, start: piece.start, response });
  }
  pieces.sort((a, b) => a.start - b.start);
  const held: HeldPieces = { requests: [], bytes: 0, total: undefined, validator: undefined };
  const stray: Request[] = [];
  for (const { request, start, response } of pieces) {
    const total = response.headers.get(totalHeader) || undefined;
    const validator = response.headers.get(validatorHeader) || undefined;
    const continues =
      start === held.bytes &&
      (held.requests.length === 0 || (String(held.total) === String(total) && held.validator === validator));
    if (!continues) {
      stray.push(request);
      continue;
    }
    held.requests.push(request);
    held.bytes += Number(response.headers.get('content-length') ?? 0);
    held.total = total === undefined ? undefined : Number(total);
    held.validator = validator;
  }
  await Promise.all(stray.map((r) => cache.delete(r)));
  return held;
}

/** A fetch failure (a TypeError, as fetch reports them) that says which file and how far it got; aborts stay aborts. */
function networkError(key: string, error: unknown, what: string): unknown {
  if (!(error instanceof TypeError)) return error;
  return new TypeError(`${key}: ${what} (${error.message})`, { cause: error });
}

interface DownloadContext extends UrlSourceOptions {
  doFetch: typeof fetch;
  httpError: (path: string, response: Response) => Error;
}

/**
 * Fetches `key` into the cache. An earlier download that stopped part way (network failure, cancel,
 * closed tab) continues with a Range request for the bytes it lacks; a server that answers with the
 * whole file (200), or with another version of it, starts the file over.
 */
async function download(cache: Cache, key: string, path: string, context: DownloadContext): Promise<void> {
  const { httpError, signal, onDownload } = context;
  const doFetch: typeof fetch = (input, init) => context.doFetch(input, init).catch((error: unknown) => {
    throw networkError(key, error, 'no connection to the server');
  });
  const pieceBytes = context.pieceBytes ?? defaultPieceBytes;
  const held = await heldPieces(cache, key);
  const dropHeld = async () => {
    await Promise.all(held.requests.map((r) => cache.delete(r)));
    held.requests = [];
    held.bytes = 0;
  };

  let response: Response | undefined;
  let total: number | undefined;
  let validator: string | undefined;
  if (held.bytes > 0 && held.bytes === held.total) {
    total = held.total; // every byte arrived; only joining the pieces was left
  } else if (held.bytes > 0) {
    response = await doFetch(key, { headers: { Range: `bytes=${held.bytes}-` }, signal });
    const range = response.status === 206 ? parseContentRange(response.headers.get('content-range')) : undefined;
    const sameVersion = held.validator === undefined || validatorOf(response) === undefined || validatorOf(response) === held.validator;
    if (range && range.start === held.bytes && (held.total === undefined || range.total === held.total) && sameVersion) {
      total = range.total ?? held.total;
      validator = held.validator ?? validatorOf(response);
    } else {
      await dropHeld();
      if (response.status !== 200) {
        await response.body?.cancel();
        response = await doFetch(key, { signal });
      }
    }
  } else {
    response = await doFetch(key, { signal });
  }

  if (response && held.bytes === 0) {
    if (isMissing(response)) {
      await response.body?.cancel();
      await cache.put(key, new Response(null, { status: 404 }));
      return;
    }
    if (!response.ok) throw httpError(path, response);
    const length = response.headers.get('content-length');
    total = length === null ? undefined : Number(length);
    validator = validatorOf(response);
  }

  const requests = [...held.requests];
  const parts: Blob[] = [];
  let done = held.bytes;
  if (response) {
    const resumedFrom = held.bytes > 0 ? held.bytes : undefined;
    const pieceHeaders = { [totalHeader]: total === undefined ? '' : String(total), [validatorHeader]: validator ?? '' };
    let chunks: Uint8Array[] = [];
    let chunkBytes = 0;
    const keep = async () => {
      if (chunkBytes === 0) return;
      const request = new Request(pieceUrl(key, done - chunkBytes));
      await cache.put(request, new Response(new Blob(chunks as BlobPart[]), { headers: { ...pieceHeaders, 'content-length': String(chunkBytes) } }));
      requests.push(request);
      chunks = [];
      chunkBytes = 0;
    };
    const reader = response.body?.getReader();
    onDownload?.({ file: path, bytesDone: done, bytesTotal: total ?? done, resumedFrom });
    try {
      for (;;) {
        const step = reader ? await reader.read() : { done: true as const, value: undefined };
        if (step.done) break;
        chunks.push(step.value);
        chunkBytes += step.value.byteLength;
        done += step.value.byteLength;
        onDownload?.({ file: path, bytesDone: done, bytesTotal: Math.max(total ?? 0, done), resumedFrom });
        if (chunkBytes >= pieceBytes) await keep();
      }
    } catch (error) {
      await keep().catch(() => undefined); // what arrived stays for the next try
      throw networkError(key, error, `the connection broke after ${done} of ${total ?? '?'} bytes; they are kept`);
    }
    if (total !== undefined && done !== total) {
      await keep();
      throw new WeightSourceError(`${key}: download ended after ${done} of ${total} bytes (retry to continue it)`);
    }
    // A file that arrived in one piece goes to the cache as it is; only a longer one is joined from its pieces.
    if (requests.length > 0) await keep();
    else parts.push(new Blob(chunks as BlobPart[]));
  }
  for (const request of requests) {
    const part = await (await cache.match(request))?.blob();
    if (!part) throw new WeightSourceError(`${key}: the browser dropped part of the download from its cache (storage full?)`);
    parts.push(part);
  }
  const whole = new Blob(parts);
  const headers = { 'content-type': response?.headers.get('content-type') || 'application/octet-stream', 'content-length': String(whole.size) };
  await cache.put(key, new Response(whole, { headers }));
  await Promise.all(requests.map((r) => cache.delete(r)));
}

export interface CachedModel {
  /** The URL base the model was loaded from. */
  base: string;
  /** Files downloaded whole. */
  files: string[];
  /** Files whose download stopped part way: loading the model again continues them. */
  partialFiles: string[];
  /** Bytes kept, partial downloads included. */
  bytes: number;
}

/** Models kept in the Cache API by urlWeightSource, grouped by folder URL. */
export async function listCachedModels(): Promise<CachedModel[]> {
  if (typeof caches === 'undefined') return [];
  const cache = await caches.open(modelCacheName);
  const models = new Map<string, CachedModel>();
  for (const request of await cache.keys()) {
    const piece = parsePieceUrl(request.url);
    const fileUrl = piece?.key ?? request.url;
    const cut = fileUrl.lastIndexOf('/') + 1;
    const base = fileUrl.slice(0, cut);
    const response = await cache.match(request);
    if (!response || response.status === 404) continue;
    let model = models.get(base);
    if (!model) {
      model = { base, files: [], partialFiles: [], bytes: 0 };
      models.set(base, model);
    }
    const name = fileUrl.slice(cut);
    if (!piece) model.files.push(name);
    else if (!model.partialFiles.includes(name)) model.partialFiles.push(name);
    model.bytes += Number(response.headers.get('content-length') ?? 0);
  }
  return [...models.values()];
}

/** Removes every cached file under `base`, partial downloads too; returns how many entries went. */
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
