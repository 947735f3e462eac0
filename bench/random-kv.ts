// Decode benchmarks' KV cache: `context` rows at positions 0… with random keys and values, as a long
// document would leave (decode time does not depend on what the keys say, and a 64K-token encode would
// cost minutes), in the cache's element type.
import type { Gpu } from '../src/gpu/gpu.ts';
import { kvElementBytes } from '../src/gpu/kernels/kv-store.ts';
import type { KvCache } from '../src/model/kv-cache.ts';
import { f32ToF16Bits } from '../src/model/dtype.ts';
import { uniformStream } from '../src/model/synthetic-weights.ts';

export async function fillWithRandomKv(gpu: Gpu, cache: KvCache, context: number): Promise<void> {
  const { layers, kvHeads, headDim, dtype } = cache.shape;
  cache.append(context, 0);
  const tokenFloats = kvHeads * headDim;
  const floats = uniformStream(7)(4096 * tokenFloats, 1);
  const block = dtype === 'f16' ? f32ToF16Bits(floats) : floats;
  for (let layer = 0; layer < layers; layer++) {
    for (const span of cache.spans(layer)) {
      for (let row = 0; row < span.length; row += 4096) {
        const n = Math.min(4096, span.length - row);
        const at = (span.start + row) * tokenFloats * kvElementBytes(dtype);
        gpu.write(span.keys, block.subarray(0, n * tokenFloats), at);
        gpu.write(span.values, block.subarray(0, n * tokenFloats), at);
      }
    }
    await gpu.finish();
  }
}
