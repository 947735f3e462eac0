// Inputs and outputs of the attention kernel tests: random queries and KV spans on the GPU with their CPU
// copies and position ids, output buffers and their readback.
import type { Gpu } from '../../src/gpu/gpu.ts';
import type { AttentionOutput, AttentionShape, DecodeQueryRows, DecodeTiles, FlashTiles, KvSpan, QueryRows } from '../../src/gpu/kernels/attention.ts';
import type { KvType } from '../../src/gpu/kernels/kv-store.ts';
import { f32ToF16Bits, roundThrough } from '../../src/model/dtype.ts';
import { randomArray } from '../support/random.ts';
import type { RefOutput } from '../reference/attention.ts';

/** Largest differences accepted from the double-precision reference, and between two GPU results that
 *  must agree (measured on lavapipe: O ≤ 2.7e-7, LSE ≤ 9.6e-7). */
export const tolerance = { o: 2e-6, lse: 4e-6 };

export function attentionShape(heads: number, kvHeads: number, headDim: number, tiles?: AttentionShape['tiles']): AttentionShape {
  return { heads, kvHeads, headDim, scale: 1 / Math.sqrt(headDim), tiles };
}

/** A second tile configuration, to check results do not depend on tile sizes. */
export const otherTiles: { prefill: FlashTiles; decode: DecodeTiles; splitKeys: number } = {
  prefill: { rows: 8, lanes: 8, keys: 8 },
  decode: { rows: 2 },
  splitKeys: 40,
};

export interface TestQuery {
  /** For every kernel: decode reads the positions on the GPU, the others take firstPosition. */
  query: QueryRows & DecodeQueryRows;
  q: Float32Array;
  positions: number[];
}

/** `rows` random query rows at positions firstPosition…; `magnitude` sharpens the softmax. */
export function testQuery(gpu: Gpu, shape: AttentionShape, rows: number, firstPosition: number, seed: number, magnitude = 1): TestQuery {
  const q = randomArray(rows * shape.heads * shape.headDim, seed, magnitude);
  const positions = Array.from({ length: rows }, (_, t) => firstPosition + t);
  return { query: { q: gpu.upload(q), rows, firstPosition, positions: gpu.upload(Uint32Array.from(positions)) }, q, positions };
}

export interface TestKv {
  span: KvSpan;
  /** The span's keys and values only, [length, kvHeads, headDim]. */
  k: Float32Array;
  v: Float32Array;
  positions: number[];
}

export interface SpanOptions {
  /** Buffer row of the span's first key. */
  start?: number;
  /** Rows of the buffers (≥ start + length); rows outside the span hold `fill`. */
  capacity?: number;
  fill?: number;
  /** The cache's element type (default f32); with f16 the CPU copies are the f16-rounded values it holds. */
  dtype?: KvType;
}

/** `length` random keys and values at positions firstPosition…, rows start… of a KV chunk buffer pair. */
export function testKv(gpu: Gpu, shape: AttentionShape, length: number, firstPosition: number, seed: number, options: SpanOptions = {}): TestKv {
  const width = shape.kvHeads * shape.headDim;
  return kvFrom(gpu, shape, randomArray(length * width, seed), randomArray(length * width, seed + 1), firstPosition, options);
}

/** Keys and values [length, kvHeads, headDim] at positions firstPosition…, stored as a span of a KV chunk buffer pair. */
export function kvFrom(gpu: Gpu, shape: AttentionShape, k: Float32Array, v: Float32Array, firstPosition: number, options: SpanOptions = {}): TestKv {
  const width = shape.kvHeads * shape.headDim;
  const length = k.length / width;
  const { start = 0, capacity = start + length, fill = 0, dtype = 'f32' } = options;
  const upload = (data: Float32Array) => {
    const all = new Float32Array(capacity * width).fill(fill);
    all.set(data, start * width);
    return gpu.upload(dtype === 'f16' ? new Uint32Array(f32ToF16Bits(all).buffer) : all);
  };
  const [kHeld, vHeld] = [roundThrough(k, dtype), roundThrough(v, dtype)];
  const positions = Array.from({ length }, (_, s) => firstPosition + s);
  return { span: { keys: upload(kHeld), values: upload(vHeld), start, length, firstPosition, dtype }, k: kHeld, v: vHeld, positions };
}

/** The CPU copies of several spans, back to back. */
export function concatKv(parts: readonly Pick<TestKv, 'k' | 'v' | 'positions'>[]): Pick<TestKv, 'k' | 'v' | 'positions'> {
  const join = (arrays: Float32Array[]) => {
    const all = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of arrays) {
      all.set(a, at);
      at += a.length;
    }
    return all;
  };
  return { k: join(parts.map((p) => p.k)), v: join(parts.map((p) => p.v)), positions: parts.flatMap((p) => p.positions) };
}

/** Output buffers for `count` results of `rows` rows, back to back; pre-filled with NaN so unwritten values show. */
export function attentionOutput(gpu: Gpu, shape: AttentionShape, rows: number, count = 1): AttentionOutput {
  const pairs = count * rows * shape.heads;
  return { o: gpu.upload(new Float32Array(pairs * shape.headDim).fill(NaN)), lse: gpu.upload(new Float32Array(pairs).fill(NaN)) };
}

export async function readOutput(gpu: Gpu, out: AttentionOutput, shape: AttentionShape, rows: number): Promise<RefOutput> {
  const pairs = rows * shape.heads;
  return {
    o: new Float32Array(await gpu.read(out.o, pairs * shape.headDim * 4)),
    lse: new Float32Array(await gpu.read(out.lse, pairs * 4)),
  };
}
