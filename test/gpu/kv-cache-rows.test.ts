// KvCache.readRows / rowWriter: a cache spread over several chunks, with a jump in its positions,
// read back in bounded pieces and written into a fresh cache from pieces of other sizes, exactly;
// for an f32 and an f16 cache (whose rows are half as many bytes).
import { describe, expect, it } from 'vitest';
import { KvCache, type KvShape } from '../../src/model/kv-cache.ts';
import { planMemory } from '../../src/model/memory-plan.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { kvTypes } from '../../src/gpu/kernels/kv-store.ts';
import { f32ToF16Bits } from '../../src/model/dtype.ts';
import { testGpu } from '../support/gpu.ts';

/** Deterministic values for each (layer, keys/values, row): integers below 2048, exact in f16 too. */
function rowsOf(shape: KvShape, layer: number, kind: number, rows: number): Float32Array {
  return Float32Array.from({ length: rows * shape.kvHeads * shape.headDim }, (_, i) => ((layer * 2 + kind) * 331 + i) % 2048);
}

/** The bytes a cache of the shape's type holds for these values. */
function bytesOf(shape: KvShape, values: Float32Array): Uint8Array {
  return new Uint8Array(shape.dtype === 'f16' ? f32ToF16Bits(values).buffer : values.buffer);
}

for (const dtype of kvTypes) {
  const shape: KvShape = { layers: 3, kvHeads: 2, headDim: 8, dtype };
  const rowBytes = shape.kvHeads * shape.headDim * (dtype === 'f16' ? 2 : 4);
  /** 40 rows per chunk: 100 rows need three chunks. */
  const chunkBytes = 40 * rowBytes;

  async function filledCache(rows: number): Promise<KvCache> {
    const gpu = await testGpu();
    const cache = new KvCache(gpu, shape, rows, 1, chunkBytes);
    cache.append(60, 0);
    cache.append(rows - 60, 500); // a host's rows after a dropped range: positions jump
    const encoder = gpu.encoder();
    const positions = gpu.upload(Uint32Array.from({ length: rows }, (_, i) => (i < 60 ? i : 440 + i)));
    const staging: GPUBuffer[] = [positions];
    for (let layer = 0; layer < shape.layers; layer++) {
      const keys = gpu.upload(rowsOf(shape, layer, 0, rows));
      const values = gpu.upload(rowsOf(shape, layer, 1, rows));
      staging.push(keys, values);
      cache.write(encoder, layer, keys, values, positions, 0, 0, rows);
    }
    gpu.submit(encoder);
    await gpu.finish();
    for (const b of staging) b.destroy();
    return cache;
  }

  function concat(pieces: Uint8Array[]): Uint8Array {
    const out = new Uint8Array(pieces.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of pieces) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }

  describe(`KV cache rows out and back (${dtype})`, () => {
    it('reads rows back in pieces no larger than asked, layer by layer, keys then values', async () => {
      const rows = 100;
      const cache = await filledCache(rows);
      const maxBytes = 7 * rowBytes;
      const pieces: Uint8Array[] = [];
      for await (const piece of cache.readRows(90, maxBytes)) pieces.push(piece);
      expect(Math.max(...pieces.map((p) => p.byteLength))).toBeLessThanOrEqual(maxBytes);
      const expected = concat(
        Array.from({ length: shape.layers }, (_, layer) => [0, 1].map((kind) => bytesOf(shape, rowsOf(shape, layer, kind, rows)).subarray(0, 90 * rowBytes))).flat(),
      );
      expect(concat(pieces)).toEqual(expected);
      expect(cache.positionRuns(90)).toEqual([
        { row: 0, position: 0, length: 60 },
        { row: 60, position: 500, length: 30 },
      ]);
      cache.destroy();
    });

    it('writes the same bytes, in pieces of any size, into a new cache with the same runs', async () => {
      const gpu = await testGpu();
      const rows = 100;
      const source = await filledCache(rows);
      const pieces: Uint8Array[] = [];
      for await (const piece of source.readRows(rows, 1 << 20)) pieces.push(piece);
      const bytes = concat(pieces);

      const copy = new KvCache(gpu, shape, rows + 10, 1, chunkBytes);
      for (const run of source.positionRuns()) copy.append(run.length, run.position);
      const upload = copy.rowWriter(rows);
      for (let at = 0; at < bytes.byteLength; at += 1004) upload(bytes.subarray(at, Math.min(at + 1004, bytes.byteLength)));
      await gpu.finish();
      const back: Uint8Array[] = [];
      for await (const piece of copy.readRows(rows, 3 * rowBytes)) back.push(piece);
      expect(concat(back)).toEqual(bytes);
      expect(copy.spans(2).map((s) => s.firstPosition)).toEqual(source.spans(2).map((s) => s.firstPosition));
      expect(() => upload(new Uint8Array(4))).toThrow(/More KV bytes than 100 rows hold/);
      source.destroy();
      copy.destroy();
    });
  });
}

describe('KV cache sizes', () => {
  it('an f16 cache holds half the bytes of an f32 one, as the memory plan counts them', async () => {
    const gpu = await testGpu();
    const config = parseModelConfig({
      model_type: 'llama', hidden_size: 64, intermediate_size: 64, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2,
      head_dim: 16, vocab_size: 32, max_position_embeddings: 4096, rms_norm_eps: 1e-5, rope_theta: 10000,
    });
    const limits = { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 };
    const bytes = kvTypes.map((dtype) => {
      const cache = new KvCache(gpu, { layers: 3, kvHeads: 2, headDim: 16, dtype }, 100);
      cache.append(100, 0);
      const planned = planMemory(config, { contextTokens: 100, weightType: 'f32', kvType: dtype, limits }).kvBytes;
      expect(cache.bytes).toBe(planned);
      cache.destroy();
      return planned;
    });
    expect(bytes).toEqual([100 * 2 * 3 * 2 * 16 * 4, 100 * 2 * 3 * 2 * 16 * 2]);
  });

  it('refuses an f16 cache whose rows are an odd number of elements (two to a word)', async () => {
    const gpu = await testGpu();
    expect(() => new KvCache(gpu, { layers: 1, kvHeads: 1, headDim: 5, dtype: 'f16' }, 10)).toThrow(/kvHeads × headDim \(5\) must be a multiple of 2; use an f32 KV cache/);
  });
});
