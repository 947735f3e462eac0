// The CPU reference model against transformers' own logits (test/fixtures/hf-golden): full attention,
// and Star Attention phase 1 + 2 with blocks of 128 and 256 tokens.
import { describe, expect, it } from 'vitest';
import { ReferenceModel } from '../reference/model.ts';
import { fixtureConfig, fixtureModels, fixtureWeights, loadGolden } from '../support/fixtures.ts';
import { maxAbsDiff } from '../support/random.ts';

const tolerance = 1e-3;

function rows(logits: Float32Array[]): Float32Array {
  const out = new Float32Array(logits.length * logits[0].length);
  logits.forEach((row, i) => out.set(row, i * row.length));
  return out;
}

describe.each(fixtureModels)('reference model, %s', (name) => {
  const setup = (async () => {
    const [config, weights, golden] = await Promise.all([fixtureConfig(name), fixtureWeights(name), loadGolden(name)]);
    return { model: new ReferenceModel(config, weights), golden };
  })();

  it('full attention: one causal forward over context + query (last 16 positions)', async () => {
    const { model, golden } = await setup;
    const ids = [...golden.contextIds, ...golden.queryIds];
    const last16 = Array.from({ length: 16 }, (_, i) => ids.length - 16 + i);
    const logits = model.forward(model.newCache(), ids, ids.map((_, i) => i), last16);
    const diff = maxAbsDiff(rows(logits), golden.prefillLogitsLast16);
    console.log(`${name} full prefill_logits_last16 max diff ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(tolerance);
  });

  it('full attention: context cache, then query and greedy tokens', async () => {
    const { model, golden } = await setup;
    const result = model.generate(model.prefill(golden.contextIds), golden.queryIds, golden.generated);
    const diff = maxAbsDiff(rows(result.logits), golden.full.queryLogits);
    console.log(`${name} full query_logits max diff ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(tolerance);
    expect(result.tokens).toEqual([...golden.full.greedyIds]);
  });

  for (const blockSize of [128, 256]) {
    it(`star attention, blocks of ${blockSize}: query logits and greedy tokens`, async () => {
      const { model, golden } = await setup;
      const want = golden.star.get(blockSize)!;
      const cache = model.starPrefill(golden.contextIds, blockSize);
      expect(cache.length).toBe(golden.contextIds.length);
      expect(cache.positions).toEqual(Array.from(golden.contextIds, (_, i) => i));
      const result = model.generate(cache, golden.queryIds, golden.generated);
      const diff = maxAbsDiff(rows(result.logits), want.queryLogits);
      console.log(`${name} star_b${blockSize} query_logits max diff ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(tolerance);
      expect(result.tokens).toEqual([...want.greedyIds]);
      // The star cache really differs from full attention here (the fixtures are built so it does).
      expect(maxAbsDiff(want.queryLogits, golden.full.queryLogits)).toBeGreaterThan(0.05);
    });
  }

  it('star attention with one block covering the context is full attention, exactly', async () => {
    const { model, golden } = await setup;
    const n = golden.contextIds.length;
    const full = model.generate(model.prefill(golden.contextIds), golden.queryIds, golden.generated);
    for (const blockSize of [n, n + 24]) {
      const star = model.generate(model.starPrefill(golden.contextIds, blockSize), golden.queryIds, golden.generated);
      expect(maxAbsDiff(rows(star.logits), rows(full.logits))).toBe(0);
      expect(star.tokens).toEqual(full.tokens);
    }
  });
});
