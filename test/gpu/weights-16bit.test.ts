// 16-bit checkpoints on the GPU as they are on disk give exactly the f32 path's results: the same
// numbers, half the memory. The whole engine (phase 1, query, greedy tokens) with f32 weights and with
// 16-bit ones (the bf16 file stays bf16, the f16 file f16, read through the formats' includes, on any
// adapter), logits compared bit for bit.
import { describe, expect, it } from 'vitest';
import { fixtureQueryLogits } from '../support/engine-logits.ts';

describe('16-bit weights as on disk', () => {
  it.each(['tiny-llama3', 'tiny-qwen2'] as const)('%s: the same logits as f32, bit for bit, in about half the weight memory', async (model) => {
    const f32 = await fixtureQueryLogits(model, 'f32', 4);
    const half = await fixtureQueryLogits(model, 'f16', 4);
    expect(half.logits).toEqual(f32.logits);
    expect(half.bytes).toBeLessThan(f32.bytes * 0.6);
  });
});
