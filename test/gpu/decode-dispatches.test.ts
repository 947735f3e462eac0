// What a decoded token dispatches, by kernel: a layer whose q, k, v and gate, up projections are fused
// (src/model/weights.ts) runs one matvec for q, k and v, one rope_kv_store for RoPE and the cache
// append, and one matvec for gate, up and the gating: 4 dispatches fewer a layer than
// q, k, v, rope, kv_store, gate and up apart. A layer with q/k norms (Qwen3) keeps q, k and v apart.
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { KvCache } from '../../src/model/kv-cache.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { loadWeights } from '../../src/model/weights.ts';
import { fixtureConfig, fixtureSource } from '../support/fixtures.ts';
import { testGpu } from '../support/gpu.ts';

/** The kernels (pipeline labels: shader names) that `run` dispatches, with their counts. */
async function dispatchedKernels(gpu: Gpu, run: () => Promise<unknown>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const dispatch = gpu.dispatch.bind(gpu);
  gpu.dispatch = (encoder, pipeline, resources, workgroups) => {
    counts.set(pipeline.label, (counts.get(pipeline.label) ?? 0) + 1);
    dispatch(encoder, pipeline, resources, workgroups);
  };
  try {
    await run();
  } finally {
    gpu.dispatch = dispatch;
  }
  return counts;
}

/** Attention's kernels: the lead's to count, not this fusion's. */
const attentionKernels = /^(attention|lse_merge|empty_lse)/;

describe('dispatches of a decoded token', () => {
  // [model, per layer: kernels other than attention's]
  const cases: Array<[string, Record<string, number>]> = [
    ['tiny-qwen2', { matvec: 4, rope_kv_store: 1 }],
    ['tiny-qwen3', { matvec: 6, rms_norm: 2, rope: 1, kv_store: 1 }],
  ];
  for (const [model, perLayer] of cases) {
    it(`${model}: per layer ${JSON.stringify(perLayer)} besides attention; the embedding and the LM head once`, async () => {
      const gpu = await testGpu();
      const config = await fixtureConfig(model);
      const weights = await loadWeights(gpu, await fixtureSource(model), config);
      const transformer = new Transformer(gpu, config, weights, { replay: false });
      const cache = new KvCache(gpu, { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim, dtype: 'f16' }, 64);
      try {
        await transformer.forward({ ids: [1, 2, 3, 4, 5], firstPosition: 0, cache, attention: { kind: 'causal' }, logits: 'none' });
        const counts = await dispatchedKernels(gpu, () => transformer.forward({ ids: [6], firstPosition: 5, cache, attention: { kind: 'causal' }, logits: 'last' }));
        const own = Object.fromEntries([...counts].filter(([label]) => !attentionKernels.test(label)));
        const want = Object.fromEntries(Object.entries(perLayer).map(([label, n]) => [label, n * config.layers]));
        want.embed = 1;
        want.matvec += 1; // the LM head
        expect(own).toEqual(want);
      } finally {
        cache.destroy();
        transformer.destroy();
        weights.destroy();
      }
    });
  }
});
