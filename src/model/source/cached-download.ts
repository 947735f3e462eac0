// The resumable download of one model file into the Cache API: it arrives in pieces, each kept as it
// comes, so a failure, a cancel or a closed tab loses nothing and the next try continues with a Range
// request for the bytes still missing.
import type { DownloadEvent } from '../load-progress.ts';
import { ModelSourceError } from './model-files.ts';

export const modelCacheName = 'star-reader-models';

/**
 * No such file: a 404, or an HTML page where a model file was asked for — static hosts and dev
 * servers with a single-page-app fallback answer unknown paths with index.html and status 200.
 */
export function isMissingResponse(response: Response): boolean {
  return response.status === 404 || (response.ok && (response.headers.get('content-type') ?? '').startsWith('text/html'));
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
export function parsePieceUrl(pieceKey: string): { key: string; start: number } | undefined {
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

export interface DownloadContext {
  doFetch: typeof fetch;
  httpError: (path: string, response: Response) => Error;
  onDownload?: (event: DownloadEvent) => void;
  signal?: AbortSignal;
  /** Bytes a piece holds before it goes to the cache (default 16 MiB): memory holds one piece at most. */
  pieceBytes?: number;
}

/**
 * Fetches `key` into the cache. An earlier download that stopped part way (network failure, cancel,
 * closed tab) continues with a Range request for the bytes it lacks; a server that answers with the
 * whole file (200), or with another version of it, starts the file over.
 */
export async function download(cache: Cache, key: string, path: string, context: DownloadContext): Promise<void> {
  const { httpError, signal, onDownload } = context;
  const doFetch: typeof fetch = (input, init) => context.doFetch(input, init).catch((error: unknown) => {
    throw networkError(key, error, 'no connection to the server');
  });
  const pieceBytes = context.pieceBytes ?? defaultPieceBytes;
  onDownload?.({ type: 'initiate', file: path });
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
    if (isMissingResponse(response)) {
      await response.body?.cancel();
      await cache.put(key, new Response(null, { status: 404 }));
      onDownload?.({ type: 'done', file: path, bytes: 0 }); // the server has no such file
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
    onDownload?.({ type: 'download', file: path, bytesTotal: total, resumedFrom });
    try {
      for (;;) {
        const step = reader ? await reader.read() : { done: true as const, value: undefined };
        if (step.done) break;
        chunks.push(step.value);
        chunkBytes += step.value.byteLength;
        done += step.value.byteLength;
        onDownload?.({ type: 'progress', file: path, bytesDone: done, bytesTotal: Math.max(total ?? 0, done) });
        if (chunkBytes >= pieceBytes) await keep();
      }
    } catch (error) {
      await keep().catch(() => undefined); // what arrived stays for the next try
      throw networkError(key, error, `the connection broke after ${done} of ${total ?? '?'} bytes; they are kept`);
    }
    if (total !== undefined && done !== total) {
      await keep();
      throw new ModelSourceError(`${key}: download ended after ${done} of ${total} bytes (retry to continue it)`);
    }
    // A file that arrived in one piece goes to the cache as it is; only a longer one is joined from its pieces.
    if (requests.length > 0) await keep();
    else parts.push(new Blob(chunks as BlobPart[]));
  }
  for (const request of requests) {
    const part = await (await cache.match(request))?.blob();
    if (!part) throw new ModelSourceError(`${key}: the browser dropped part of the download from its cache (storage full?)`);
    parts.push(part);
  }
  const whole = new Blob(parts);
  const headers = { 'content-type': response?.headers.get('content-type') || 'application/octet-stream', 'content-length': String(whole.size) };
  await cache.put(key, new Response(whole, { headers }));
  await Promise.all(requests.map((r) => cache.delete(r)));
  onDownload?.({ type: 'done', file: path, bytes: whole.size });
}
