// Phase 2 as the correctness checks run it: the query's logits (every row), then `generate` greedy
// tokens, each fed back and its logits kept — the layout of transformers' reference (hf-golden).
import type { StarEngine } from './star-engine.ts';
import { createSampler } from '../model/sampling.ts';

export interface GreedyScore {
  /** [query rows + generate, vocab]: one row per query token, then one per generated token fed back. */
  logits: Float32Array;
  ids: Int32Array;
}

export async function scoreGreedy(engine: StarEngine, queryIds: readonly number[], generate: number): Promise<GreedyScore> {
  const vocab = engine.info.config.vocab;
  const greedy = createSampler({ temperature: 0 }, vocab); // ties → lowest index, as torch.argmax
  const logits = new Float32Array((queryIds.length + generate) * vocab);
  logits.set(await engine.feed(queryIds, 'all'));
  const ids = new Int32Array(generate);
  for (let i = 0; i < generate; i++) {
    const row = queryIds.length + i;
    ids[i] = greedy.sample(logits.subarray((row - 1) * vocab, row * vocab), []);
    logits.set(await engine.feed([ids[i]], 'last'), row * vocab);
  }
  return { logits, ids };
}
