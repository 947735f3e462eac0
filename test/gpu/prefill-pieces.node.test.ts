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
});
