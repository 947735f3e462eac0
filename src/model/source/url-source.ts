// A model served over HTTP (a Hugging Face repo's resolve/main/, or any static server), read with Range
// requests. In a browser each file is kept whole in the Cache API (cached-download.ts), so the next
// visit needs no network.
import { download, isMissingResponse, modelCacheName } from './cached-download.ts';
import type { DownloadEvent } from '../load-progress.ts';
import { missingFile, ModelSourceError, parseJsonFile, type ModelFiles } from './model-files.ts';

export interface UrlSourceOptions {
  /**
   * Keep each file whole in the Cache API (default: when the Cache API exists, i.e. in a browser
   * page or Worker in a secure context). Otherwise every read is a Range request.
   */
  cache?: boolean;
  /** Each file fetched into the cache reports its download as it goes. */
  onDownload?: (event: DownloadEvent) => void;
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
export function openUrlSource(base: string, options: UrlSourceOptions = {}): ModelFiles {
  const root = base.endsWith('/') ? base : `${base}/`;
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const useCache = options.cache ?? typeof caches !== 'undefined';
  if (useCache && typeof caches === 'undefined') {
    throw new ModelSourceError('The Cache API is not available here (it needs a browser and a secure context)');
  }
  const { signal } = options;
  const url = (path: string) => new URL(path, root).href;
  const httpError = (path: string, response: Response) =>
    response.status === 401 || response.status === 403
      ? new ModelSourceError(`${url(path)}: HTTP ${response.status} (a gated or private model needs access rights)`)
      : new ModelSourceError(`${url(path)}: HTTP ${response.status} ${response.statusText}`);

  if (useCache) return cachedUrlSource(root, url, doFetch, httpError, options);

  return {
    name: root,
    async readJson(path) {
      const response = await doFetch(url(path), { signal });
      if (isMissingResponse(response)) return undefined;
      if (!response.ok) throw httpError(path, response);
      return parseJsonFile(await response.text(), path, root);
    },
    async size(path) {
      const response = await doFetch(url(path), { method: 'HEAD', signal });
      if (isMissingResponse(response)) throw missingFile(path, root);
      if (!response.ok) throw httpError(path, response);
      const length = response.headers.get('content-length');
      if (length === null) throw new ModelSourceError(`${url(path)}: the server sent no Content-Length`);
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
): ModelFiles {
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
      await download(cache, key, path, { ...options, doFetch, httpError });
      response = await cache.match(key);
      if (!response) throw new ModelSourceError(`${key}: the browser did not keep the file in its cache (storage full?)`);
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
