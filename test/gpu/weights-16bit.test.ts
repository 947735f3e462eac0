// 16-bit checkpoints on the GPU as they are on disk give exactly the f32 path's results: the same
// numbers, half the memory. The whole engine (phase 1, query, greedy tokens) with f32 weights and with
// 16-bit ones (the bf16 file stays bf16, the f16 file f16, read through the formats' includes, on any
// adapter), logits compared bit for bit.
import { describe, expect, it } from 'vitest';
import { StarEngine } from '../../src/star/engine.ts';
import { openLocalHost } from '../../src/star/local-host.ts';
import { scoreGreedy } from '../../src/star/greedy-score.ts';
import { fixtureLocation, loadGolden, type FixtureModel } from '../support/fixtures.ts';
import { inBrowser } from '../support/gpu.ts';

async function queryLogits(model: FixtureModel, weightType: 'f32' | 'f16'): Promise<{ logits: Float32Array; bytes: number }> {
  const golden = await loadGolden(model);
  const where = fixtureLocation(model);
  const engine = await StarEngine.create({
    model: inBrowser ? { kind: 'url', base: where } : { kind: 'directory', path: where },
    weightType,
    ropeDType: golden.ropeDType,
    conversationRoom: 64,
    openHost: openLocalHost,
  });
  try {
    await engine.encode(Array.from(golden.contextIds), { attention: 'star', blockSize: 128 });
    const { logits } = await scoreGreedy(engine, Array.from(golden.queryIds), 4);
    return { logits, bytes: engine.info.weightBytes };
  } finally {
    await engine.dispose();
  }
}

describe('16-bit weights as on disk', () => {
  it.each(['tiny-llama3', 'tiny-qwen2'] as const)('%s: the same logits as f32, bit for bit, in about half the weight memory', async (model) => {
    const f32 = await queryLogits(model, 'f32');
    const half = await queryLogits(model, 'f16');
    expect(half.logits).toEqual(f32.logits);
    expect(half.bytes).toBeLessThan(f32.bytes * 0.6);
  });
});
