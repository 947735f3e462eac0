// The engine on a hf-golden fixture with a given weight type: Star Attention b=128 over the context,
// then the query's logits (and `generate` greedy tokens'), and the GPU bytes its weights took. The KV
// cache is f32 unless asked otherwise: the weight-format tests compare against exact references.
import type { WeightType } from '../../src/model/weights.ts';
import type { KvType } from '../../src/gpu/kernels/kv-store.ts';
import { StarEngine } from '../../src/star/star-engine.ts';
import { scoreGreedy } from '../../src/star/greedy-score.ts';
import { openLocalHost } from '../../src/star/local-host.ts';
import { loadGolden, type FixtureModel } from './fixtures.ts';
import { fixtureModelSource } from './golden-checks.ts';

export async function fixtureQueryLogits(
  model: FixtureModel,
  weightType: WeightType,
  generate = 0,
  kvType: KvType = 'f32',
): Promise<{ logits: Float32Array; bytes: number }> {
  const golden = await loadGolden(model);
  const engine = await StarEngine.create({
    model: fixtureModelSource(model),
    weightType,
    kvType,
    ropeDType: golden.ropeDType,
    conversationRoom: 64,
    openHost: openLocalHost,
  });
  try {
    await engine.encode(Array.from(golden.contextIds), { attention: 'star', blockSize: 128 });
    const { logits } = await scoreGreedy(engine, Array.from(golden.queryIds), generate);
    return { logits, bytes: engine.info.weightBytes };
  } finally {
    await engine.dispose();
  }
}
