// Loading a model has two phases, each with its own events: downloading files (a URL model the
// browser does not hold yet) and placing the weights on the GPU. The reader passes both on as
// LoadProgress (src/star/reader-api.ts).

/**
 * One file's download, as it happens: `initiate` before the request, `download` once the server
 * answered (with the size, and `resumedFrom` when an earlier download's bytes are kept), `progress`
 * as bytes arrive, `done` once the file is whole in the cache. Files already cached send none.
 */
export type DownloadEvent =
  | { type: 'initiate'; file: string }
  | { type: 'download'; file: string; bytesTotal: number | undefined; resumedFrom?: number }
  | { type: 'progress'; file: string; bytesDone: number; bytesTotal: number }
  | { type: 'done'; file: string; bytes: number };

/** Placing the weights on the GPU: bytes of tensor data placed so far, and the tensor being placed. */
export interface WeightProgress {
  bytesDone: number;
  bytesTotal: number;
  tensor: string;
}
