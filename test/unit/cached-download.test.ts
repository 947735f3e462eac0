// A download into the Cache API that stops part way continues where it stopped: Node has no Cache
// API, so a small in-memory one stands in for the browser's, and a scripted fetch plays the server
// (failures mid-body, servers that ignore Range, files that change between tries).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listCachedModels } from '../../src/model/source/cached-models.ts';
import { openUrlSource, type UrlSourceOptions } from '../../src/model/source/url-source.ts';
import { ModelSourceError } from '../../src/model/source/model-files.ts';
import type { DownloadEvent } from '../../src/model/load-progress.ts';

/** The parts of the Cache API the URL source uses, in memory; bodies are read in full by put(), as a browser does. */
class MemoryCache {
  readonly entries = new Map<string, { body: ArrayBuffer | null; status: number; headers: Array<[string, string]> }>();

  async match(request: RequestInfo | URL): Promise<Response | undefined> {
    const entry = this.entries.get(urlOf(request));
    return entry && new Response(entry.body && entry.body.slice(0), { status: entry.status, headers: entry.headers });
  }

  async put(request: RequestInfo | URL, response: Response): Promise<void> {
    const body = response.body ? await response.arrayBuffer() : null;
    this.entries.set(urlOf(request), { body, status: response.status, headers: [...response.headers] });
  }

  async keys(request?: RequestInfo | URL, options: { ignoreSearch?: boolean } = {}): Promise<Request[]> {
    const strip = (url: string) => (options.ignoreSearch ? url.split('?')[0] : url);
    const wanted = request === undefined ? undefined : strip(urlOf(request));
    return [...this.entries.keys()].filter((url) => wanted === undefined || strip(url) === wanted).map((url) => new Request(url));
  }

  async delete(request: RequestInfo | URL): Promise<boolean> {
    return this.entries.delete(urlOf(request));
  }
}

function urlOf(request: RequestInfo | URL): string {
  return typeof request === 'string' ? request : request instanceof URL ? request.href : request.url;
}

const base = 'https://models.example/org/tiny/resolve/main/';
const fileUrl = `${base}model.safetensors`;
const size = 100_000;
const chunk = 4096;
const versionOne = Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7) % 251);
const versionTwo = Uint8Array.from({ length: size }, (_, i) => (i * 17 + 3) % 241);

interface ServerScript {
  /** Per request, in order: stop the body with a network error after this many bytes. */
  failAfter?: Array<number | undefined>;
  /** Per request: end the body cleanly (no error) after this many bytes, short of Content-Length. */
  endAfter?: Array<number | undefined>;
  /** Answer Range requests with the whole file (200). */
  ignoreRange?: boolean;
  /** Per request: which version of the file the server has. */
  versions?: Array<Uint8Array | undefined>;
}

/** A scripted server for one file; records each request's Range header and the body bytes it sent. */
function server(script: ServerScript = {}) {
  const log: Array<{ range: string | null; status: number; sent: number }> = [];
  const fetchFile: typeof fetch = async (input, init = {}) => {
    const n = log.length;
    const url = urlOf(input as RequestInfo);
    const range = new Headers(init.headers).get('range');
    const entry = { range, status: 200, sent: 0 };
    log.push(entry);
    if (url !== fileUrl) return new Response(null, { status: (entry.status = 404) });
    const file = script.versions?.[n] ?? script.versions?.at(-1) ?? versionOne;
    const etag = file === versionOne ? '"v1"' : '"v2"';
    const from = range && !script.ignoreRange ? Number(/^bytes=(\d+)-$/.exec(range)![1]) : 0;
    const headers: Record<string, string> = { 'content-length': String(size - from), etag, 'content-type': 'application/octet-stream' };
    if (from > 0) {
      entry.status = 206;
      headers['content-range'] = `bytes ${from}-${size - 1}/${size}`;
    }
    const failAt = script.failAfter?.[n];
    const endAt = script.endAfter?.[n];
    let at = from;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (init.signal?.aborted) return controller.error(init.signal.reason);
        if (failAt !== undefined && at - from >= failAt) return controller.error(new TypeError('network error'));
        if (at >= size || (endAt !== undefined && at - from >= endAt)) return controller.close();
        const piece = file.slice(at, Math.min(size, at + chunk));
        at += piece.length;
        entry.sent += piece.length;
        controller.enqueue(piece);
      },
    }, { highWaterMark: 0 }); // no read-ahead: `sent` is what the client read
    return new Response(body, { status: entry.status, headers });
  };
  return { fetch: fetchFile, log };
}

let cache: MemoryCache;
const saved = Object.getOwnPropertyDescriptor(globalThis, 'caches');
beforeAll(() => {
  Object.defineProperty(globalThis, 'caches', { configurable: true, value: { open: async () => cache } });
});
afterAll(() => {
  if (saved) Object.defineProperty(globalThis, 'caches', saved);
  else delete (globalThis as { caches?: unknown }).caches;
});
beforeEach(() => {
  cache = new MemoryCache();
});

/** A fresh source, as a Retry in the app makes one (a new reader), reading the whole file. */
async function readAll(fetchFile: typeof fetch, options: UrlSourceOptions = {}) {
  const progress: DownloadEvent[] = [];
  const source = openUrlSource(base, { fetch: fetchFile, pieceBytes: 16_384, onDownload: (p) => progress.push(p), ...options });
  const bytes = await source.read('model.safetensors', 0, size + 10);
  return { bytes, progress };
}

const pieceUrls = () => [...cache.entries.keys()].filter((url) => url.includes('star-reader-piece'));

describe('openUrlSource into the Cache API: resuming a download', () => {
  it('downloads in pieces and keeps one whole file in the cache', async () => {
    const { fetch, log } = server();
    const { bytes, progress } = await readAll(fetch);
    expect(bytes).toEqual(versionOne);
    expect(log).toEqual([{ range: null, status: 200, sent: size }]);
    expect(pieceUrls()).toEqual([]);
    expect(cache.entries.get(fileUrl)?.headers).toContainEqual(['content-length', String(size)]);
    expect(progress.slice(0, 2)).toEqual([
      { type: 'initiate', file: 'model.safetensors' },
      { type: 'download', file: 'model.safetensors', bytesTotal: size, resumedFrom: undefined },
    ]);
    expect(progress.at(-2)).toEqual({ type: 'progress', file: 'model.safetensors', bytesDone: size, bytesTotal: size });
    expect(progress.at(-1)).toEqual({ type: 'done', file: 'model.safetensors', bytes: size });
    const done = progress.flatMap((p) => (p.type === 'progress' ? [p.bytesDone] : []));
    expect(done.length).toBe(progress.length - 3);
    expect(done.every((d, i) => i === 0 || d >= done[i - 1])).toBe(true);
  });

  it('after a network failure mid-file, the next try asks only for the missing bytes (206)', async () => {
    const failAt = 10 * chunk;
    const { fetch, log } = server({ failAfter: [failAt] });
    const failure = await readAll(fetch).catch((e: unknown) => e);
    // Still a TypeError, as fetch reports network failures, now saying which file and how far it got.
    expect(failure).toBeInstanceOf(TypeError);
    expect(String(failure)).toBe(`TypeError: ${fileUrl}: the connection broke after ${failAt} of ${size} bytes; they are kept (network error)`);
    // What arrived is in the cache, listed as a partial download of the model.
    expect(pieceUrls().length).toBeGreaterThan(0);
    const [listed] = await listCachedModels();
    expect(listed).toEqual({ base, files: [], partialFiles: ['model.safetensors'], bytes: failAt });

    const { bytes, progress } = await readAll(fetch);
    expect(bytes).toEqual(versionOne);
    expect(log.map((r) => [r.range, r.status])).toEqual([
      [null, 200],
      [`bytes=${failAt}-`, 206],
    ]);
    expect(log[0].sent + log[1].sent).toBe(size); // nothing downloaded twice
    expect(progress[1]).toMatchObject({ type: 'download', bytesTotal: size, resumedFrom: failAt });
    const resumed = progress[2];
    expect(resumed.type === 'progress' && resumed.bytesDone > failAt).toBe(true); // counts from the kept bytes
    expect(pieceUrls()).toEqual([]);
    expect(await listCachedModels()).toEqual([{ base, files: ['model.safetensors'], partialFiles: [], bytes: size }]);
  });

  it('survives several failures in a row, each try continuing the last', async () => {
    const { fetch, log } = server({ failAfter: [3 * chunk, 5 * chunk, 7 * chunk] });
    for (let i = 0; i < 3; i++) await expect(readAll(fetch)).rejects.toThrow(/network error/);
    expect((await readAll(fetch)).bytes).toEqual(versionOne);
    expect(log.map((r) => r.range)).toEqual([null, `bytes=${3 * chunk}-`, `bytes=${8 * chunk}-`, `bytes=${15 * chunk}-`]);
    expect(log.reduce((n, r) => n + r.sent, 0)).toBe(size);
  });

  it('a server that ignores Range (200) gives the whole file again: the download starts over', async () => {
    const { fetch, log } = server({ failAfter: [6 * chunk], ignoreRange: true });
    await expect(readAll(fetch)).rejects.toThrow(TypeError);
    expect((await readAll(fetch)).bytes).toEqual(versionOne);
    expect(log.map((r) => [r.range, r.status, r.sent])).toEqual([
      [null, 200, 6 * chunk],
      [`bytes=${6 * chunk}-`, 200, size],
    ]);
    expect(pieceUrls()).toEqual([]);
  });

  it('a file that changed on the server since the first try is downloaded again from its start', async () => {
    const { fetch, log } = server({ failAfter: [5 * chunk], versions: [versionOne, versionTwo, versionTwo] });
    await expect(readAll(fetch)).rejects.toThrow(TypeError);
    expect((await readAll(fetch)).bytes).toEqual(versionTwo);
    expect(log.map((r) => [r.range, r.status])).toEqual([
      [null, 200],
      [`bytes=${5 * chunk}-`, 206],
      [null, 200],
    ]);
    expect(log[1].sent).toBe(0); // the 206 of the new version is not read
  });

  it('a body that ends short of Content-Length is kept and continued', async () => {
    const { fetch, log } = server({ endAfter: [4 * chunk] });
    const error = await readAll(fetch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelSourceError);
    expect(String(error)).toMatch(`download ended after ${4 * chunk} of ${size} bytes (retry to continue it)`);
    expect((await readAll(fetch)).bytes).toEqual(versionOne);
    expect(log.map((r) => r.range)).toEqual([null, `bytes=${4 * chunk}-`]);
  });

  it('cancelling keeps what arrived; loading again continues it', async () => {
    const { fetch, log } = server();
    const controller = new AbortController();
    const cancelled = readAll(fetch, {
      signal: controller.signal,
      onDownload: (p) => p.type === 'progress' && p.bytesDone >= 8 * chunk && controller.abort(new DOMException('Model loading cancelled', 'AbortError')),
    });
    await expect(cancelled).rejects.toMatchObject({ name: 'AbortError' });
    expect((await readAll(fetch)).bytes).toEqual(versionOne);
    expect(log[1].range).toBe(`bytes=${log[0].sent}-`);
    expect(log[0].sent + log[1].sent).toBe(size);
  });

  it('no connection at all: the error names the file; the next try downloads it', async () => {
    const { fetch, log } = server();
    let offline = true;
    const flaky: typeof globalThis.fetch = (input, init) => (offline ? Promise.reject(new TypeError('Failed to fetch')) : fetch(input, init));
    await expect(readAll(flaky)).rejects.toThrow(`${fileUrl}: no connection to the server (Failed to fetch)`);
    offline = false;
    expect((await readAll(flaky)).bytes).toEqual(versionOne);
    expect(log).toHaveLength(1);
  });

  it('a missing file is remembered as missing, with no download', async () => {
    const { fetch, log } = server();
    const source = openUrlSource(base, { fetch });
    expect(await source.readJson('model.safetensors.index.json')).toBeUndefined();
    expect(await openUrlSource(base, { fetch }).readJson('model.safetensors.index.json')).toBeUndefined();
    expect(log).toHaveLength(1);
    expect(await listCachedModels()).toEqual([]);
  });
});
