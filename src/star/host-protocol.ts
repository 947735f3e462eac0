// The host protocol: what the main thread calls on a host living in another thread (a browser Worker
// or a Node worker_thread). remote-host.ts drives it through comlink; workers/host.worker.ts
// implements it around a Host. Every argument is plain data or a comlink proxy (the callbacks), and
// every failure crosses as HostErrorData (host-error.ts).
import type { EncodeJob, EncodeResult, HostInfo, HostOpenOptions } from './host.ts';
import type { HostHandle } from './star-engine.ts';
import type { OpfsLocation, ShardReader, ShardRecord, ShardWriter } from './document-store.ts';
import type { RemoteAttention } from '../model/transformer.ts';

/** What opening a host sends to its thread: the options without the signal and the callback. */
export type HostOpenData = Omit<HostOpenOptions, 'signal' | 'onProgress'>;

export type { RemoteAttention };

/** The calls that cross as they are: the same as the engine's HostHandle. */
type SameAsHandle = 'info' | 'partialAttention' | 'feed' | 'beginAnswer' | 'readCitations' | 'step' | 'endAnswer' | 'kvLength' | 'truncate' | 'kvBytes' | 'finishLoad';

export interface HostWorkerApi extends Pick<HostHandle, SameAsHandle> {
  /** Opens the thread's host: its own GPUDevice and model replica. */
  open(index: number, request: HostOpenData, onProgress?: HostOpenOptions['onProgress']): Promise<HostInfo>;
  encode(job: EncodeJob, onProgress?: (tokensDone: number) => void): Promise<EncodeResult>;
  /** Stops the encode() in progress (an AbortSignal cannot cross threads). */
  abortEncode(): void;
  /** Writes the shard straight into OPFS from the host's thread: the KV never crosses to the main thread. */
  saveShardAt(location: OpfsLocation, id: string, file: string, rows: number): Promise<ShardRecord>;
  /** The shard through a writer living in the main thread (a store the host's thread cannot open: a Node folder). */
  writeShard(writer: ShardWriter, file: string, rows: number): Promise<ShardRecord>;
  loadShardAt(location: OpfsLocation, id: string, file: string, record: ShardRecord, capacity: number): Promise<void>;
  readShard(reader: Omit<ShardReader, 'size'>, size: number, record: ShardRecord, capacity: number): Promise<void>;
  dispose(): void;
}
