// Node only (the split path is the same code in Chromium, and CI's adapters never take it alone).
// A GPU splits a long span's keys over more workgroups in prefill (prefillSplits) and merges the
// splits; CPU adapters do not. The same device seen as a GPU must give the logits of the unsplit
// run, over a cache in two chunks: two spans, each in splits, their slots in one merge.
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { KvCache } from '../../src/model/kv-cache.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { loadWeights } from '../../src/model/weights.ts';
import { fixtureConfig, fixtureSource } from '../support/fixtures.ts';
import { testGpu } from '../support/gpu.ts';
import { maxAbsDiff } from '../support/random.ts';

const model = 'tiny-qwen2';

/** `gpu` with an adapter report that says GPU: the kernels choose as they would on one. */
function seenAsGpu(gpu: Gpu): Gpu {
  const adapter = { ...gpu.adapter, runsOnCpu: false };
  return new Proxy(gpu, {
    get(target, key) {
      if (key === 'adapter') return adapter;
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('prefill attention in key splits (as on a GPU)', () => {
  it('gives the unsplit logits over two spans in splits, and merges the splits', async () => {
    const gpu = await testGpu();
    const config = await fixtureConfig(model);
    const weights = await loadWeights(gpu, await fixtureSource(model), config);
    const asGpu = seenAsGpu(gpu);
    const shape = { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim, dtype: 'f32' as const };
    const rowBytes = config.kvHeads * config.headDim * 4;
    const tokens = 4600;
    const ids = Array.from({ length: tokens }, (_, i) => (i * 7919 + 3) % config.vocab);
    // Chunks of 2300 rows: the last pieces see two spans of 2300 keys, two splits each.
    const chunkRows = 2300;
    const logits: Float32Array[] = [];
    const dispatches: number[] = [];
    for (const device of [gpu, asGpu]) {
      const transformer = new Transformer(device, config, weights);
      const cache = new KvCache(device, shape, tokens, 1, chunkRows * rowBytes);
      const before = gpu.counters.dispatches;
      const out = await transformer.forward({ ids, firstPosition: 0, cache, attention: { kind: 'causal' }, logits: 'last' });
      logits.push(await gpu.readF32(out!));
      dispatches.push(gpu.counters.dispatches - before);
      cache.destroy();
      transformer.destroy();
    }
    // Both merge two spans where a piece sees both; the split run also merges where a piece sees one
    // span of 2048 keys or more, so it dispatches more.
    expect(dispatches[1]).toBeGreaterThan(dispatches[0]);
    expect(maxAbsDiff(logits[1], logits[0])).toBeLessThan(1e-4);
    weights.destroy();
  });
});
