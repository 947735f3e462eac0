// What every golden test does with a fixture: open it where this runtime reads it (a folder in Node,
// the dev server's URL in Chromium), score the query and greedy tokens as make_golden.py's
// continue_with produces them, and compare with transformers' run.
import { expect } from 'vitest';
import type { ModelSource } from '../../src/model/source/model-source.ts';
import { StarEngine, type HostFactory } from '../../src/star/star-engine.ts';
import { scoreGreedy } from '../../src/star/greedy-score.ts';
import { fixtureLocation, loadGolden, type FixtureModel, type Golden, type GoldenRun } from './fixtures.ts';
import { inBrowser } from './gpu.ts';
import { maxAbsDiff } from './random.ts';

export const goldenTolerance = 1e-3;

export function fixtureModelSource(model: FixtureModel): ModelSource {
  const where = fixtureLocation(model);
  return inBrowser ? { kind: 'url', base: where } : { kind: 'directory', path: where };
}

/** Query logits and greedy ids, as make_golden.py's continue_with produces them. */
export async function scoreQuery(engine: StarEngine, golden: Golden): Promise<GoldenRun> {
  const { logits, ids } = await scoreGreedy(engine, Array.from(golden.queryIds), golden.generated);
  return { queryLogits: logits, greedyIds: ids };
}

export function expectMatches(got: GoldenRun, want: GoldenRun, label: string): void {
  const diff = maxAbsDiff(got.queryLogits, want.queryLogits);
  console.log(`${label}: max |logit diff| ${diff.toExponential(2)}`);
  expect(diff, `${label}: max |logit diff|`).toBeLessThan(goldenTolerance);
  expect(Array.from(got.greedyIds), `${label}: greedy ids`).toEqual(Array.from(want.greedyIds));
}

/**
 * The last 16 rows of one causal forward over context + query, as make_golden.py's
 * prefill_logits_last16: all but the last 16 tokens encoded into the cache, then those in one forward.
 */
export async function expectLast16Matches(engine: StarEngine, golden: Golden, label: string): Promise<void> {
  const all = [...golden.contextIds, ...golden.queryIds];
  await engine.encode(all.slice(0, all.length - 16), { attention: 'full' });
  const logits = await engine.feed(all.slice(all.length - 16), 'all');
  const diff = maxAbsDiff(logits, golden.prefillLogitsLast16);
  console.log(`${label} full prefill_logits_last16: max |logit diff| ${diff.toExponential(2)}`);
  expect(diff).toBeLessThan(goldenTolerance);
}

// The f16 KV cache (the default), weights as in the checkpoint: keys and values rounded to f16 once,
// when stored; everything else as the exact path, which the golden tests run with an f32 cache.
// Measured against transformers (f32 cache) on lavapipe, max |logit diff| full / star b=128 on 2 hosts:
// tiny-llama3 2.1e-3 / 1.6e-3, tiny-qwen2 3.7e-4 / 3.5e-4, tiny-qwen3 1.2e-3 / 1.3e-3, tiny-phi3
// 7.7e-3 / 7.5e-3, tiny-smollm3 2.8e-3 / 2.6e-3, tiny-gemma3 1.0e-3 / 1.1e-3 (f16 keeps 11
// significant bits: a relative rounding of at most 4.9e-4 per key and value element, which these
// random models amplify most in tiny-phi3); greedy ids identical everywhere. SwiftShader (Chromium
// Workers): tiny-qwen3 1.2e-3 / 1.3e-3, tiny-phi3 7.6e-3 / 7.5e-3.
// Tolerance: 2.5e-2, about 3 times the largest measured (WGSL lets another adapter round each element
// to either neighbouring f16).
export const kvF16Tolerance = 2.5e-2;

/** Full attention on one host, then Star Attention b=128 over 2 (phase 2 merges the other host's partial over its f16 shard), or the `modes` given. */
export async function expectF16KvMatches(model: FixtureModel, openHost: HostFactory, modes: ReadonlyArray<'full' | 'star'> = ['full', 'star']): Promise<void> {
  const golden = await loadGolden(model);
  const engine = await StarEngine.create({ model: fixtureModelSource(model), hosts: 2, kvType: 'f16', ropeDType: golden.ropeDType, conversationRoom: 64, openHost });
  try {
    for (const mode of modes) {
      const want = mode === 'full' ? golden.full : golden.star.get(128)!;
      await engine.encode(Array.from(golden.contextIds), { attention: mode, blockSize: 128, hosts: mode === 'full' ? 1 : 2 });
      const got = await scoreQuery(engine, golden);
      const diff = maxAbsDiff(got.queryLogits, want.queryLogits);
      console.log(`${model} ${mode} f16 KV: max |logit diff| ${diff.toExponential(2)}`);
      expect(diff, `${model} ${mode} f16 KV: max |logit diff|`).toBeLessThan(kvF16Tolerance);
      expect(Array.from(got.greedyIds), `${model} ${mode} f16 KV: greedy ids`).toEqual(Array.from(want.greedyIds));
    }
  } finally {
    await engine.dispose();
  }
}
