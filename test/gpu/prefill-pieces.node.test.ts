// Node only (the piece loop is the same code in Chromium, where the golden tests run it in pieces).
// A long prefill runs in pieces of at most maxRows rows; the CPU records the next piece while the GPU
// runs the last one, and waits for the piece before that: never more than two pieces in flight.
import { describe, expect, it } from 'vitest';
import { KvCache } from '../../src/model/kv-cache.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { loadWeights } from '../../src/model/weights.ts';
import { fixtureConfig, fixtureSource } from '../support/fixtures.ts';
import { testGpu } from '../support/gpu.ts';
import { maxAbsDiff } from '../support/random.ts';

const model = 'tiny-qwen2';

describe('prefill in pieces', () => {
  it('records a piece while the one before runs, waits for the one before that, and gives the one-piece logits', async () => {
    const gpu = await testGpu();
    const config = await fixtureConfig(model);
    const weights = await loadWeights(gpu, await fixtureSource(model), config);
    const shape = { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim, dtype: 'f32' as const };
    const tokens = 200;
    const pieceRows = 32; // 7 pieces, the last of 8 rows
    const ids = Array.from({ length: tokens }, (_, i) => (i * 7919 + 3) % config.vocab);

    const run = async (maxRows: number, onPiece?: (end: number) => void) => {
      const transformer = new Transformer(gpu, config, weights, { maxRows });
      const cache = new KvCache(gpu, shape, tokens);
      const out = await transformer.forward({ ids, firstPosition: 0, cache, attention: { kind: 'causal' }, logits: 'last', onPiece });
      const logits = await gpu.readF32(out!);
      cache.destroy();
      transformer.destroy();
      return logits;
    };

    // Each wait: how many pieces were submitted when it was made, and when it was awaited.
    let submitted = 0;
    const waits: { madeAfter: number; awaitedAfter: number }[] = [];
    const submittedWorkDone = gpu.submittedWorkDone.bind(gpu);
    gpu.submittedWorkDone = () => {
      const madeAfter = submitted;
      const wait = submittedWorkDone();
      return async () => {
        waits.push({ madeAfter, awaitedAfter: submitted });
        await wait();
      };
    };
    let pieced: Float32Array;
    try {
      pieced = await run(pieceRows, () => submitted++);
    } finally {
      gpu.submittedWorkDone = submittedWorkDone;
    }
    const whole = await run(tokens);

    const pieces = Math.ceil(tokens / pieceRows);
    expect(submitted).toBe(pieces);
    // Before piece k + 2 is recorded, piece k is done; nothing waits on the two last pieces.
    expect(waits).toEqual(Array.from({ length: pieces - 2 }, (_, k) => ({ madeAfter: k + 1, awaitedAfter: k + 2 })));
    expect(maxAbsDiff(pieced, whole)).toBeLessThan(1e-4);
    weights.destroy();
  });

  it('takes fewer rows a piece where its rows see a long cache (at most maxRows · 16,384 query-key pairs), never under 512', async () => {
    const gpu = await testGpu();
    const config = await fixtureConfig(model);
    const weights = await loadWeights(gpu, await fixtureSource(model), config);
    const shape = { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim, dtype: 'f32' as const };
    const transformer = new Transformer(gpu, config, weights, { maxRows: 1024 });
    const tokens = 1100;
    const ids = Array.from({ length: tokens }, (_, i) => (i * 7919 + 3) % config.vocab);
    const pieceEnds = async (cached: number) => {
      const cache = new KvCache(gpu, shape, cached + tokens);
      cache.append(cached, 0); // keys whose values do not matter here, only their count
      const ends: number[] = [];
      await transformer.forward({ ids, firstPosition: cached, cache, attention: { kind: 'causal' }, logits: 'none', onPiece: (end) => ends.push(end) });
      cache.destroy();
      return ends;
    };
    expect(await pieceEnds(0)).toEqual([1024, 1100]);
    // 16,000 keys before: a piece of 1,024 rows would see 1024 · 17,024 pairs, more than 1024 · 16,384;
    // a piece of whole 64 rows within the pairs instead: 960 (16,384 · 1024 / 17,024 = 985).
    expect(await pieceEnds(16000)).toEqual([960, 1100]);
    // 33,000 keys before: 448 rows would be within the pairs, but 512 is the floor.
    expect(await pieceEnds(33000)).toEqual([512, 1024, 1100]);
    transformer.destroy();
    weights.destroy();
  });
});
