// More families against transformers (../shared/fixtures/hf-golden-families): Phi-3 (fused projections,
// partial rotary, LongRoPE's long factors), SmolLM3 (a NoPE layer) and Gemma 3 ((1 + w) and sandwich
// norms, q/k norms, GELU-tanh, embedding scale, sliding and full layers with their own RoPE bases).
// Full attention and Star Attention with blocks of 128 and 256, then the query and 8 greedy tokens,
// on 1 and 2 hosts, in-process in Node. Chromium runs one golden per family, Star Attention b=128 over
// 2 hosts in Workers (the family's kernels, the block-anchor pass, the hosts' merge, through the browser
// build): the other configurations compute the same numbers with the same kernels, which Node checks,
// and at a minute of SwiftShader each they were most of the Chromium run's CI time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StarEngine } from '../../src/star/star-engine.ts';
import { openLocalHost } from '../../src/star/local-host.ts';
import { scoreGreedy } from '../../src/star/greedy-score.ts';
import { openWorkerHost } from '../../src/star/worker-host.ts';
import { familyFixtureModels, fixtureConfig, fixtureWeights, loadGolden, type Golden } from '../support/fixtures.ts';
import { ReferenceModel } from '../reference/model.ts';
import { maxAbsDiff } from '../support/random.ts';
import { inBrowser } from '../support/gpu.ts';
import { expectF16KvMatches, expectLast16Matches, expectMatches, fixtureModelSource, goldenTolerance, kvF16Tolerance, scoreQuery } from '../support/golden-checks.ts';

const tolerance = goldenTolerance;
const hostCounts = [1, 2];
const starCases: Array<[blockSize: number, hosts: number]> = inBrowser
  ? [[128, 2]]
  : [128, 256].flatMap((blockSize) => hostCounts.map((hosts): [number, number] => [blockSize, hosts]));


for (const model of familyFixtureModels) {
  describe(`${model} against transformers, ${inBrowser ? 'hosts in Workers' : 'in-process hosts'}`, () => {
    let engine: StarEngine;
    let golden: Golden;

    beforeAll(async () => {
      golden = await loadGolden(model);
      engine = await StarEngine.create({
        model: fixtureModelSource(model),
        hosts: Math.max(...hostCounts),
        ropeDType: golden.ropeDType,
        kvType: 'f32',
        conversationRoom: 64,
        openHost: inBrowser ? openWorkerHost : openLocalHost,
      });
    });
    afterAll(async () => engine?.dispose());

    // Node only (defined there, not skipped in Chromium): see the top of the file.
    if (!inBrowser) {
      it('full attention: query logits, greedy ids', async () => {
        await engine.encode(Array.from(golden.contextIds), { attention: 'full' });
        expectMatches(await scoreQuery(engine, golden), golden.full, `${model} full`);
      });

      it('full attention: logits of the last 16 positions of context + query', () => expectLast16Matches(engine, golden, model));
    }

    for (const [blockSize, hosts] of starCases) {
      it(`Star Attention b=${blockSize} on ${hosts} host(s)`, async () => {
        const stats = await engine.encode(Array.from(golden.contextIds), { attention: 'star', blockSize, hosts });
        expect(stats.blocks).toBe(Math.ceil(golden.contextIds.length / blockSize));
        expect(stats.hosts).toBe(hosts);
        expectMatches(await scoreQuery(engine, golden), golden.star.get(blockSize)!, `${model} star b=${blockSize} hosts=${hosts}`);
      });
    }
  });
}

// Node only (defined there, not skipped in Chromium): golden.test.ts runs the f16 cache in Chromium
// Workers, and a minute of SwiftShader per model is CI time (tiny-phi3 there: 7.6e-3, as on lavapipe).
if (!inBrowser) describe('f16 KV cache against transformers', () => {
  for (const model of familyFixtureModels) {
    it(`${model}: full, and star b=128 on 2 hosts, within ${kvF16Tolerance}, greedy ids identical`, () => expectF16KvMatches(model, openLocalHost));
  }
});

// f16 weights for the fused projections' row ranges (lavapipe has shader-f16; SwiftShader has none):
// tiny-phi3's bf16 checkpoint converts to f16 exactly, so the f32 tolerance holds.
// Node only: defined there, not skipped in Chromium (whose f16 absence linear.test.ts checks).
if (!inBrowser) describe('f16 weights, fused projections split at load', () => {
  it('tiny-phi3: star b=128 within 1e-3 of transformers', async () => {
    const golden = await loadGolden('tiny-phi3');
    const engine = await StarEngine.create({ model: fixtureModelSource('tiny-phi3'), weightType: 'f16', kvType: 'f32', conversationRoom: 64, openHost: openLocalHost });
    try {
      await engine.encode(Array.from(golden.contextIds), { attention: 'star', blockSize: 128 });
      expectMatches(await scoreQuery(engine, golden), golden.star.get(128)!, 'tiny-phi3 star b=128 f16 weights');
    } finally {
      await engine.dispose();
    }
  });
});

// LongRoPE's short factors: a conversation that stays within original_max_position_embeddings (64 for
// tiny-phi3) keeps them in both phases — the query and every decoded token rotate as the document did
// — checked against the CPU reference model given the same conversation length. Node only (defined
// there, not skipped in Chromium): the factors are chosen on the CPU, the same code in both.
if (!inBrowser) describe('tiny-phi3: LongRoPE short factors for a short conversation', () => {
  it('a 40-token context with room for 20 more: short factors throughout, as the reference computes', async () => {
    const golden = await loadGolden('tiny-phi3');
    const [context, query, steps, room] = [Array.from(golden.contextIds.subarray(0, 40)), Array.from(golden.queryIds), 4, 20];
    const [config, weights] = await Promise.all([fixtureConfig('tiny-phi3'), fixtureWeights('tiny-phi3')]);
    const reference = (conversationLength: number) => {
      const model = new ReferenceModel(config, weights, { conversationLength });
      const cache = model.newCache();
      model.forward(cache, context, context.map((_, i) => i));
      const { logits } = model.generate(cache, query, steps);
      const all = new Float32Array(logits.length * config.vocab);
      logits.forEach((row, i) => all.set(row, i * config.vocab));
      return all;
    };
    const short = reference(context.length + room);
    expect(maxAbsDiff(short, reference(config.maxPositionEmbeddings))).toBeGreaterThan(1e-2);
    const engine = await StarEngine.create({ model: fixtureModelSource('tiny-phi3'), kvType: 'f32', conversationRoom: room, openHost: openLocalHost });
    try {
      await engine.encode(context, { attention: 'full' });
      const got = await scoreGreedy(engine, query, steps);
      const diff = maxAbsDiff(got.logits, short);
      console.log(`tiny-phi3 short factors (conversation of ${context.length + room}): max |logit diff| vs the CPU reference ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(tolerance);
    } finally {
      await engine.dispose();
    }
  });
});
