// The CPU reference model against transformers' own logits (test/fixtures/hf-golden and
// ../shared/fixtures/hf-golden-families): full attention, and Star Attention phase 1 + 2 with blocks of
// 128 and 256 tokens.
import { describe, expect, it } from 'vitest';
import { ReferenceModel, type GenerateResult } from '../reference/model.ts';
import { familyFixtureModels, fixtureConfig, fixtureModels, fixtureWeights, loadGolden } from '../support/fixtures.ts';
import { maxAbsDiff } from '../support/random.ts';

const tolerance = 1e-3;
/** About 20 s for the whole file on an idle 2-core machine; generous for a loaded one. */
const timeout = 60_000;

function rows(logits: Float32Array[]): Float32Array {
  const out = new Float32Array(logits.length * logits[0].length);
  logits.forEach((row, i) => out.set(row, i * row.length));
  return out;
}

describe.each([...fixtureModels, ...familyFixtureModels])('reference model, %s', (name) => {
  const setup = (async () => {
    const [config, weights, golden] = await Promise.all([fixtureConfig(name), fixtureWeights(name), loadGolden(name)]);
    const model = new ReferenceModel(config, weights, { ropeDType: golden.ropeDType });
    let full: (GenerateResult & { contextTail: Float32Array[] }) | undefined;
    /**
     * Full attention, computed once: the context into a cache (with the logits of its last rows), then
     * the query and greedy tokens. One token at a time, this is also the one causal forward over
     * context + query that full.prefill_logits_last16 comes from.
     */
    const fullRun = () => {
      if (!full) {
        const n = golden.contextIds.length;
        const tail = 16 - golden.queryIds.length;
        const cache = model.newCache();
        const positions = Array.from(golden.contextIds, (_, i) => i);
        const contextTail = model.forward(cache, golden.contextIds, positions, positions.slice(n - tail));
        full = { contextTail, ...model.generate(cache, golden.queryIds, golden.generated) };
      }
      return full;
    };
    return { model, golden, fullRun };
  })();

  it('full attention: logits of the last 16 positions of context + query', async () => {
    const { golden, fullRun } = await setup;
    const { contextTail, logits } = fullRun();
    const diff = maxAbsDiff(rows([...contextTail, ...logits.slice(0, golden.queryIds.length)]), golden.prefillLogitsLast16);
    console.log(`${name} full prefill_logits_last16 max diff ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(tolerance);
  }, timeout);

  it('full attention: context cache, then query and greedy tokens', async () => {
    const { golden, fullRun } = await setup;
    const result = fullRun();
    const diff = maxAbsDiff(rows(result.logits), golden.full.queryLogits);
    console.log(`${name} full query_logits max diff ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(tolerance);
    expect(result.tokens).toEqual([...golden.full.greedyIds]);
  }, timeout);

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
    }, timeout);
  }

  it('star attention with one block covering the context is full attention, exactly', async () => {
    const { model, golden, fullRun } = await setup;
    const n = golden.contextIds.length;
    const full = fullRun();
    // One block, shorter than b: encoded alone, like a full prefill.
    const star = model.generate(model.starPrefill(golden.contextIds, n + 24), golden.queryIds, golden.generated);
    expect(star.logits).toHaveLength(full.logits.length);
    expect(maxAbsDiff(rows(star.logits), rows(full.logits))).toBe(0);
    expect(star.tokens).toEqual(full.tokens);
  }, timeout);
});

describe('the fixtures round RoPE frequencies to the checkpoint dtype', () => {
  // make_golden.py casts the model (RoPE's inv_freq buffer included) to bf16 before its float32 run.
  // Exact float32 frequencies land far from its logits; the rounded ones match (tests above).
  it('tiny-llama3 (bf16): float32 frequencies miss the golden logits by more than 1e-2', async () => {
    const [config, weights, golden] = await Promise.all([fixtureConfig('tiny-llama3'), fixtureWeights('tiny-llama3'), loadGolden('tiny-llama3')]);
    expect(golden.ropeDType).toBe('bf16');
    const ids = [...golden.contextIds, ...golden.queryIds];
    const model = new ReferenceModel(config, weights);
    const [last] = model.forward(model.newCache(), ids, ids.map((_, i) => i), [ids.length - 1]);
    const diff = maxAbsDiff(last, golden.prefillLogitsLast16.subarray(15 * golden.vocab));
    console.log(`tiny-llama3 with float32 RoPE frequencies: last prefill logits max diff ${diff.toExponential(2)}`);
    expect(diff).toBeGreaterThan(1e-2);
  }, timeout);
});

describe('observeLinear (calibration of a quantizer: bench/formats/q8-study.ts)', () => {
  it('sees every matrix product of a token, with the input it multiplies', async () => {
    const [config, weights] = await Promise.all([fixtureConfig('tiny-qwen3'), fixtureWeights('tiny-qwen3')]);
    const seen: { weight: Float32Array; input: Float64Array }[] = [];
    const model = new ReferenceModel(config, weights, { observeLinear: (weight, input) => seen.push({ weight, input: input.slice() }) });
    model.forward(model.newCache(), [5, 9], [0, 1], [1]);
    // 2 tokens × layers × (q, k, v, o, gate, up, down), then lm_head for the one logits row.
    expect(seen.length).toBe(2 * config.layers * 7 + 1);
    const last = seen[seen.length - 1];
    expect(last.weight).toBe(weights.get('lm_head.weight'));
    // Each product is the observed weight times the observed input: lm_head's gives the logits.
    const [logits] = model.forward(model.newCache(), [5, 9], [0, 1], [1]);
    const row = (r: number) => last.weight.subarray(r * config.hidden, (r + 1) * config.hidden).reduce((s, w, i) => s + w * last.input[i], 0);
    for (const r of [0, 7, config.vocab - 1]) expect(Math.abs(row(r) - logits[r])).toBeLessThan(1e-5);
    for (const { weight, input } of seen) expect(weight.length % input.length).toBe(0);
  }, timeout);
});
