// Fused projections (src/model/weights.ts) against the same model loaded with every projection apart
// (fuseProjections: false): the same logits bit for bit — a prefill piece (tiled kernels), a few rows
// and decoded tokens — and fewer dispatches a decoded token. Fused, a layer runs one matvec for q, k
// and v, one rope_kv_store for RoPE and the cache append, and one matvec for gate, up and the gating:
// 4 dispatches fewer than q, k, v, rope, kv_store, gate and up apart; with q/k norms (Qwen3), both
// norms in one dispatch, 5 fewer. Node only (CI time): Chromium runs the fused path through the golden
// tests, and the kernels' own tests check each fused kernel against its parts there.
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { KvCache } from '../../src/model/kv-cache.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { loadWeights } from '../../src/model/weights.ts';
import { fixtureConfig, fixtureSource, type FixtureModel } from '../support/fixtures.ts';
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

/** Attention's kernels: the same either way. */
const attentionKernels = /^(attention|lse_merge|empty_lse)/;

interface Run {
  /** Logits of every forward, one after another. */
  logits: Float32Array[];
  /** A decoded token's kernels but attention's, per layer (the embedding and LM head left out). */
  perLayer: Record<string, number>;
}

async function runModel(gpu: Gpu, model: FixtureModel, fuseProjections: boolean): Promise<Run> {
  const config = await fixtureConfig(model);
  const weights = await loadWeights(gpu, await fixtureSource(model), config, { fuseProjections });
  const transformer = new Transformer(gpu, config, weights, { maxRows: 32, replay: false });
  const cache = new KvCache(gpu, { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim, dtype: 'f16' }, 64);
  const logits: Float32Array[] = [];
  const forward = async (ids: number[], firstPosition: number) => {
    const out = await transformer.forward({ ids, firstPosition, cache, attention: { kind: 'causal' }, logits: 'all' });
    logits.push(await gpu.readF32({ ...out!, shape: [ids.length, config.vocab] }));
  };
  try {
    await forward(Array.from({ length: 20 }, (_, i) => (i * 37 + 5) % config.vocab), 0); // tiled kernels
    await forward([7, 8, 9], 20); // the matrix–vector kernel for a few rows
    await forward([10], 23);
    const counts = await dispatchedKernels(gpu, () => forward([11], 24));
    const perLayer = Object.fromEntries(
      [...counts]
        .filter(([label]) => !attentionKernels.test(label) && label !== 'embed')
        .map(([label, n]) => [label, (n - (label === 'matvec' ? 1 : 0)) / config.layers]), // less the LM head
    );
    return { logits, perLayer };
  } finally {
    cache.destroy();
    transformer.destroy();
    weights.destroy();
  }
}

describe('fused projections', () => {
  // [model, a decoded token's kernels but attention's per layer: fused, apart]
  const cases: Array<[FixtureModel, Record<string, number>, Record<string, number>]> = [
    ['tiny-qwen2', { matvec: 4, rope_kv_store: 1 }, { matvec: 7, rope: 1, kv_store: 1 }],
    ['tiny-qwen3', { matvec: 4, rms_norm: 1, rope_kv_store: 1 }, { matvec: 7, rms_norm: 2, rope: 1, kv_store: 1 }],
  ];
  for (const [model, fused, apart] of cases) {
    it(`${model}: the logits of projections apart, bit for bit; a decoded token's layer runs ${JSON.stringify(fused)} besides attention, not ${JSON.stringify(apart)}`, async () => {
      const gpu = await testGpu();
      const [withFusion, without] = [await runModel(gpu, model, true), await runModel(gpu, model, false)];
      expect(withFusion.perLayer).toEqual(fused);
      expect(without.perLayer).toEqual(apart);
      expect(withFusion.logits.length).toBe(without.logits.length);
      withFusion.logits.forEach((logits, i) => expect(Array.from(logits)).toEqual(Array.from(without.logits[i])));
    });
  }
});
