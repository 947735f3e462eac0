// What every golden test does with a fixture: open it where this runtime reads it (a folder in Node,
// the dev server's URL in Chromium), score the query and greedy tokens as make_golden.py's
// continue_with produces them, and compare with transformers' run.
import { expect } from 'vitest';
import type { ModelLocation } from '../../src/model/open-weight-source.ts';
import type { StarEngine } from '../../src/star/engine.ts';
import { scoreGreedy } from '../../src/star/greedy-score.ts';
import { fixtureLocation, type FixtureModel, type Golden, type GoldenRun } from './fixtures.ts';
import { inBrowser } from './gpu.ts';
import { maxAbsDiff } from './random.ts';

export const goldenTolerance = 1e-3;

export function fixtureModelLocation(model: FixtureModel): ModelLocation {
  const where = fixtureLocation(model);
  return inBrowser ? { kind: 'url', base: where } : { kind: 'directory', path: where };
}

/** Query logits and greedy ids, as make_golden.py's continue_with produces them. */
export async function scoreQuery(engine: StarEngine, golden: Golden): Promise<GoldenRun> {
  const { logits, ids } = await scoreGreedy(engine, Array.from(golden.queryIds), golden.generated);
  return { queryLogits: logits, greedyIds: ids };
}

export function expectMatches(got: GoldenRun, want: GoldenRun, label: string): void {
  const diff = maxAbsDiff(got.queryLogits, want.queryLogits);
  console.log(`${label}: max |logit diff| ${diff.toExponential(2)}`);
  expect(diff, `${label}: max |logit diff|`).toBeLessThan(goldenTolerance);
  expect(Array.from(got.greedyIds), `${label}: greedy ids`).toEqual(Array.from(want.greedyIds));
}
