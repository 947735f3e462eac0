// Node only: the replay is the same code in every browser; Chromium runs the decode paths it replays
// through the golden and answer-decoder tests.
// Decoded tokens replay the commands recorded for an earlier token (Transformer's replayKey, Gpu.replay):
// the logits must be those of recording every token anew, bit for bit, across everything that changes
// what a token records — the decode spans' reach (every 256 rows), a new KV chunk, a rollback, the ids
// coming from a GPU buffer instead of the CPU — and the replays must actually happen.
import { describe, expect, it } from 'vitest';
import { KvCache } from '../../src/model/kv-cache.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { loadWeights } from '../../src/model/weights.ts';
import { fixtureConfig, fixtureSource } from '../support/fixtures.ts';
import { testGpu } from '../support/gpu.ts';

const model = 'tiny-qwen2';

describe('decode replay', () => {
  it('gives the logits of recording every token anew, across span reaches, chunks, a rollback and GPU-fed ids', async () => {
    const gpu = await testGpu();
    const config = await fixtureConfig(model);
    const weights = await loadWeights(gpu, await fixtureSource(model), config);
    const replaying = new Transformer(gpu, config, weights);
    const recording = new Transformer(gpu, config, weights, { replay: false });
    const shape = { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim, dtype: 'f16' as const };
    const rowBytes = config.kvHeads * config.headDim * 2;
    // Chunks of 200 rows: the 330 decoded rows after a 40-token prompt cross into a second chunk.
    const caches = [replaying, recording].map(() => new KvCache(gpu, shape, 64, 1, 200 * rowBytes));
    const prompt = Array.from({ length: 40 }, (_, i) => (i * 37 + 5) % config.vocab);
    const token = gpu.upload(Uint32Array.of(7));
    // Tokens whose forward pass looked up a pipeline: recorded, not replayed.
    const recorded = new Map<Transformer, number>([[replaying, 0], [recording, 0]]);
    const pipeline = gpu.pipeline.bind(gpu);
    let lookedUp = false;
    gpu.pipeline = (...args) => {
      lookedUp = true;
      return pipeline(...args);
    };
    const logitsOf = async (t: Transformer, cache: KvCache, id: number, position: number, fromGpu: boolean) => {
      if (fromGpu) gpu.write(token, Uint32Array.of(id));
      lookedUp = false;
      const logits = await t.forward({ ids: [id], tokens: fromGpu ? token : undefined, firstPosition: position, cache, attention: { kind: 'causal' }, logits: 'last' });
      if (lookedUp) recorded.set(t, recorded.get(t)! + 1);
      return new Uint32Array((await gpu.readF32(logits!)).buffer);
    };
    for (const [i, t] of [replaying, recording].entries()) {
      await t.forward({ ids: prompt, firstPosition: 0, cache: caches[i], attention: { kind: 'causal' }, logits: 'none' });
    }
    const decode = async (from: number, count: number) => {
      let id = 3;
      for (let step = 0; step < count; step++) {
        const position = from + step;
        const fromGpu = step % 3 === 0;
        const a = await logitsOf(replaying, caches[0], id, position, fromGpu);
        const b = await logitsOf(recording, caches[1], id, position, fromGpu);
        expect(a, `token at position ${position}`).toEqual(b);
        id = (a[0] + step) % config.vocab;
      }
    };
    await decode(40, 330);
    for (const cache of caches) cache.truncate(100); // a regenerated answer
    await decode(100, 30);
    expect(recorded.get(recording)).toBe(360);
    // Recorded anew: the first token from each id source, then at each new reach or chunk (rows 64,
    // 200, 256, 264, 456) and after the rollback; every other token replays.
    expect(recorded.get(replaying)).toBeGreaterThanOrEqual(4);
    expect(recorded.get(replaying)).toBeLessThanOrEqual(20);
    for (const cache of caches) cache.destroy();
    replaying.destroy();
    recording.destroy();
    weights.destroy();
  }, 120_000);
});
