// The models a browser keeps in the Cache API (downloaded by url-source.ts): list them, remove one.
import { modelCacheName, parsePieceUrl } from './cached-download.ts';

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

/** Models kept in the Cache API by openUrlSource, grouped by folder URL. */
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
