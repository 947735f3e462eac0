// The KV cache of one host: per layer, keys and values of every token it holds, [token, kvHead, headDim]
// in the cache's element type (f32, or f16: half the memory; kv-store.ts).
//
// A long cache does not fit one storage binding (128 MiB by default on many GPUs), so it is kept in
// chunks of at most `chunkTokens` tokens; attention walks the chunks as spans. Chunks are allocated
// for the planned capacity, and more are added (in steps of `growTokens`) when a conversation outgrows it. Tokens are
// appended in order; each append records the position ids it carries, so a span knows its positions
// (a host holding blocks 3–4 of a document starts at position 3·b, not 0).
import type { Gpu } from '../gpu/gpu.ts';
import type { KvSpan } from '../gpu/kernels/attention.ts';
import { kvElementBytes, kvElementsPerWord, kvStore, kvStoreRotated, kvTypes, type KvType, type RopeAngles } from '../gpu/kernels/kv-store.ts';

/** The KV cache's element type when none is asked for: f16 halves the largest buffer of a long document. */
export const defaultKvType: KvType = 'f16';

/** A KV element type from user input (a CLI flag, a setting): f32 or f16, any case. */
export function parseKvType(text: string): KvType {
  const type = text.trim().toLowerCase();
  if (!(kvTypes as readonly string[]).includes(type)) throw new Error(`The KV cache type must be one of ${kvTypes.join(', ')}, got "${text}"`);
  return type as KvType;
}

export interface KvShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  /** The element type keys and values are stored in. */
  dtype: KvType;
}

interface Chunk {
  startRow: number;
  tokens: number;
  keys: GPUBuffer[]; // per layer
  values: GPUBuffer[]; // per layer
}

/** Cache rows [row, row + length) hold positions [position, position + length). */
export interface PositionRun {
  row: number;
  position: number;
  length: number;
}

/** A byte range of one GPU buffer. */
interface Section {
  buffer: GPUBuffer;
  offset: number;
  bytes: number;
}

export class KvCache {
  private readonly chunks: Chunk[] = [];
  private readonly runs: PositionRun[] = [];
  private rows = 0;
  /**
   * Changes whenever the cache's layout does (a run of positions or a chunk added, a run dropped), not
   * when the last run only grows or shrinks: a decoded token's recorded commands stay valid for as long
   * as it does (src/model/transformer.ts).
   */
  private layout = 0;
  readonly chunkTokens: number;
  readonly bytesPerToken: number;
  private readonly tokenBytes: number;
  private readonly growTokens: number;
  private readonly alignTokens: number;

  /**
   * @param capacityTokens tokens to allocate for up front (document + question + answer room).
   * @param alignTokens chunk sizes are multiples of this (the Star Attention block size), so a block
   *   appended at an aligned row never straddles two chunks; when one block is larger than a chunk,
   *   chunks are not aligned (alignedTo() then says 1) and blocks are processed in pieces.
   */
  constructor(
    private readonly gpu: Gpu,
    readonly shape: KvShape,
    capacityTokens: number,
    alignTokens = 1,
    maxChunkBytes = gpu.maxBindingBytes,
  ) {
    const width = shape.kvHeads * shape.headDim;
    const perWord = kvElementsPerWord(shape.dtype);
    if (width % perWord !== 0) {
      throw new Error(`A ${shape.dtype} KV cache packs ${perWord} elements a word: kvHeads × headDim (${width}) must be a multiple of ${perWord}; use an f32 KV cache`);
    }
    this.tokenBytes = width * kvElementBytes(shape.dtype);
    this.bytesPerToken = 2 * shape.layers * this.tokenBytes;
    const fit = Math.floor(Math.min(maxChunkBytes, gpu.device.limits.maxBufferSize) / this.tokenBytes);
    if (fit === 0) throw new Error(`One token's KV (${this.tokenBytes} bytes per layer) exceeds a storage binding (${maxChunkBytes} bytes)`);
    this.alignTokens = alignTokens <= fit ? alignTokens : 1;
    this.chunkTokens = Math.floor(fit / this.alignTokens) * this.alignTokens;
    this.growTokens = Math.min(this.chunkTokens, Math.ceil(1024 / this.alignTokens) * this.alignTokens);
    this.ensureCapacity(capacityTokens);
  }

  /** Chunks start and end at multiples of this many rows. */
  alignedTo(): number {
    return this.alignTokens;
  }

  get length(): number {
    return this.rows;
  }

  get layoutVersion(): number {
    return this.layout;
  }

  get bytes(): number {
    return this.rows * this.bytesPerToken;
  }

  private get capacity(): number {
    const last = this.chunks[this.chunks.length - 1];
    return last ? last.startRow + last.tokens : 0;
  }

  /**
   * Records `keys` and `values` ([rows, kvHeads·headDim] f32, at row `sourceRow`; their positions, u32,
   * at the same rows of `positions`) of one layer as the cache rows starting at `cacheRow`, which
   * append() has reserved for those positions, converted to the cache's element type. Chunks are
   * allocated on demand.
   */
  write(encoder: GPUCommandEncoder, layer: number, keys: GPUBuffer, values: GPUBuffer, positions: GPUBuffer, sourceRow: number, cacheRow: number, rows: number): void {
    this.forEachRun(layer, sourceRow, cacheRow, rows, (from, to, count) => {
      kvStore(this.gpu, encoder, { keys, values, positions, row: from }, to, count, this.width, this.shape.dtype);
    });
  }

  /**
   * write() from the rows of a fused q, k, v projection (`qkv`, [rows, heads·headDim + 2·kvHeads·headDim]
   * f32), rotating the keys by RoPE on the way (`rope` undefined: a NoPE layer) and writing the rotated
   * queries to the same rows of `q` (kvStoreRotated): RoPE and the append in one dispatch.
   */
  writeRotated(
    encoder: GPUCommandEncoder,
    layer: number,
    source: { qkv: GPUBuffer; q: GPUBuffer; positions: GPUBuffer; heads: number; rope: RopeAngles | undefined },
    sourceRow: number,
    cacheRow: number,
    rows: number,
  ): void {
    const shape = { heads: source.heads, kvHeads: this.shape.kvHeads, headDim: this.shape.headDim };
    this.forEachRun(layer, sourceRow, cacheRow, rows, (from, to, count) => {
      kvStoreRotated(this.gpu, encoder, { qkv: source.qkv, q: source.q, positions: source.positions, row: from }, to, count, shape, source.rope, this.shape.dtype);
    });
  }

  /**
   * The cache rows [cacheRow, cacheRow + rows) of `layer`, source rows from `sourceRow` on, in pieces
   * that lie in one chunk and one run of positions: where each piece's rows come from, where they go
   * (a chunk, its row and the position that row holds) and how many.
   */
  private forEachRun(
    layer: number,
    sourceRow: number,
    cacheRow: number,
    rows: number,
    store: (from: number, to: { keys: GPUBuffer; values: GPUBuffer; row: number; position: number }, count: number) => void,
  ): void {
    let done = 0;
    while (done < rows) {
      const row = cacheRow + done;
      const chunk = this.chunkAt(row);
      const run = this.runAt(row);
      const inChunk = row - chunk.startRow;
      const count = Math.min(rows - done, chunk.tokens - inChunk, run.row + run.length - row);
      store(sourceRow + done, { keys: chunk.keys[layer], values: chunk.values[layer], row: inChunk, position: run.position + (row - run.row) }, count);
      done += count;
    }
  }

  private runAt(row: number): PositionRun {
    const run = this.runs.find((r) => row >= r.row && row < r.row + r.length);
    if (!run) throw new Error(`KV cache row ${row} has not been appended`);
    return run;
  }

  /** How many rows from `row` on lie in the same chunk (unbounded past the allocated capacity). */
  contiguousRowsFrom(row: number): number {
    if (row >= this.capacity) return Infinity;
    const chunk = this.chunkAt(row);
    return chunk.startRow + chunk.tokens - row;
  }

  /** Reserves the next `count` rows for tokens at positions firstPosition…; returns the first row. */
  append(count: number, firstPosition: number): number {
    const row = this.rows;
    const last = this.runs[this.runs.length - 1];
    if (last && last.row + last.length === row && last.position + last.length === firstPosition) last.length += count;
    else {
      this.runs.push({ row, position: firstPosition, length: count });
      this.layout++;
    }
    this.rows += count;
    this.ensureCapacity(this.rows);
    return row;
  }

  /** Forgets rows from `length` on (a cancelled encode, or a dropped anchor); buffers are kept for reuse. */
  truncate(length: number): void {
    if (length > this.rows) throw new Error(`Cannot truncate a KV cache of ${this.rows} rows to ${length}`);
    this.rows = length;
    while (this.runs.length && this.runs[this.runs.length - 1].row >= length) {
      this.runs.pop();
      this.layout++;
    }
    const last = this.runs[this.runs.length - 1];
    if (last) last.length = Math.min(last.length, length - last.row);
  }

  /** The cache rows [from, to) of one layer as spans: split at chunk boundaries and position jumps. */
  spans(layer: number, from = 0, to = this.rows): KvSpan[] {
    const spans: KvSpan[] = [];
    for (const run of this.runs) {
      let row = Math.max(from, run.row);
      const end = Math.min(to, run.row + run.length);
      while (row < end) {
        const chunk = this.chunkAt(row);
        const start = row - chunk.startRow;
        const length = Math.min(end - row, chunk.tokens - start);
        spans.push({
          keys: chunk.keys[layer],
          values: chunk.values[layer],
          start,
          length,
          firstPosition: run.position + (row - run.row),
          dtype: this.shape.dtype,
        });
        row += length;
      }
    }
    return spans;
  }

  /**
   * spans(layer, 0, end) for queries whose own rows end at `end`, the last span reaching on, within its
   * chunk, to the next multiple of `step` rows. Rows past `end` belong to positions after every query's
   * (they are the next tokens' places, or stale rows of a conversation rolled back), so attention masks
   * them; reaching past them keeps the spans the same for `step` decoded tokens, which then replay one
   * recording. Only for rows appended last, in the last run: anything else past `end` might be visible.
   */
  spansReaching(layer: number, end: number, step: number): KvSpan[] {
    const spans = this.spans(layer, 0, end);
    const last = spans[spans.length - 1];
    const run = this.runs[this.runs.length - 1];
    if (!last || end !== this.rows || end !== run.row + run.length) throw new Error('spansReaching() needs the rows appended last');
    const chunkRows = this.chunkAt(end - 1).tokens;
    const reach = Math.min(chunkRows - last.start, Math.ceil((last.start + last.length) / step) * step - last.start);
    spans[spans.length - 1] = { ...last, length: Math.max(last.length, reach) };
    return spans;
  }

  /** The position runs of rows [0, rows): what a saved shard needs to append its rows again. */
  positionRuns(rows = this.rows): PositionRun[] {
    return this.runs.filter((r) => r.row < rows).map((r) => ({ ...r, length: Math.min(r.length, rows - r.row) }));
  }

  /** Bytes of one row of one layer's keys (or values). */
  get rowBytes(): number {
    return this.tokenBytes;
  }

  /** Elements of one row of one layer's keys (or values). */
  private get width(): number {
    return this.shape.kvHeads * this.shape.headDim;
  }

  /**
   * Reads rows [0, rows) back to the CPU in pieces of at most `maxBytes`, in one fixed order — for each
   * layer its keys' rows, then its values' rows — so memory stays bounded whatever the cache's size.
   */
  async *readRows(rows: number, maxBytes: number): AsyncGenerator<Uint8Array> {
    for (const section of this.sections(rows, maxBytes)) {
      yield new Uint8Array(await this.gpu.read(section.buffer, section.bytes, section.offset));
    }
  }

  /**
   * The inverse of readRows: returns a function taking the same bytes, in the same order, in pieces of
   * any size (a multiple of 4); each piece is queued for upload as it comes. Rows must have been
   * appended first (append() with the saved position runs).
   */
  rowWriter(rows: number): (piece: Uint8Array) => void {
    if (rows > this.rows) throw new Error(`Cannot write ${rows} rows into a KV cache of ${this.rows}`);
    const sections = this.sections(rows, Infinity);
    let index = 0;
    let within = 0;
    return (piece) => {
      let at = 0;
      while (at < piece.byteLength) {
        const section = sections[index];
        if (!section) throw new Error(`More KV bytes than ${rows} rows hold`);
        const count = Math.min(section.bytes - within, piece.byteLength - at);
        this.gpu.write(section.buffer, piece.subarray(at, at + count), section.offset + within);
        at += count;
        within += count;
        if (within === section.bytes) {
          index++;
          within = 0;
        }
      }
    };
  }

  /** Rows [0, rows) of every layer as buffer ranges, in readRows' order, each at most maxBytes. */
  private sections(rows: number, maxBytes: number): Section[] {
    const maxRows = Math.max(1, Math.floor(maxBytes / this.tokenBytes));
    const sections: Section[] = [];
    for (let layer = 0; layer < this.shape.layers; layer++) {
      for (const kind of ['keys', 'values'] as const) {
        let row = 0;
        while (row < rows) {
          const chunk = this.chunkAt(row);
          const start = row - chunk.startRow;
          const count = Math.min(rows - row, chunk.tokens - start, maxRows);
          sections.push({ buffer: chunk[kind][layer], offset: start * this.tokenBytes, bytes: count * this.tokenBytes });
          row += count;
        }
      }
    }
    return sections;
  }

  private chunkAt(row: number): Chunk {
    const chunk = this.chunks.find((c) => row >= c.startRow && row < c.startRow + c.tokens);
    if (!chunk) throw new Error(`KV cache row ${row} is past its capacity (${this.capacity})`);
    return chunk;
  }

  /** Allocates chunks until `tokens` rows fit: full chunks, then one sized to what is left. */
  private ensureCapacity(tokens: number): void {
    while (this.capacity < tokens) {
      const startRow = this.capacity;
      const wanted = Math.max(tokens - startRow, this.chunks.length ? this.growTokens : 1);
      const size = Math.min(this.chunkTokens, Math.ceil(wanted / this.alignTokens) * this.alignTokens);
      const make = (kind: string) =>
        Array.from({ length: this.shape.layers }, (_, l) =>
          this.gpu.buffer(size * this.tokenBytes, `kv ${kind} rows ${startRow}+${size} layer ${l}`),
        );
      this.chunks.push({ startRow, tokens: size, keys: make('keys'), values: make('values') });
      this.layout++;
    }
  }

  destroy(): void {
    for (const chunk of this.chunks) for (const b of [...chunk.keys, ...chunk.values]) b.destroy();
    this.chunks.length = 0;
    this.runs.length = 0;
    this.rows = 0;
  }
}
