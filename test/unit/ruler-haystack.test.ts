import { describe, expect, it } from 'vitest';
import { fitUnits } from '../../src/eval/ruler/haystack.ts';
import { RULER_TASKS, rulerTask } from '../../src/eval/ruler/tasks.ts';
import type { RulerSample } from '../../src/eval/ruler/task.ts';

// A simple tokenizer: one token per word or punctuation mark.
const tokens = (text: string) => text.match(/\w+|[^\w\s]/g)?.length ?? 0;
const promptTokens = (s: RulerSample) => 12 + tokens(s.document) + tokens(s.question + s.answerPrefix);

describe('fitUnits', () => {
  it('finds the most units within the budget, as a one-unit-at-a-time search would, in few counts', () => {
    for (const perUnit of [1, 7, 33]) {
      for (const budget of [150, 999, 20_000]) {
        let calls = 0;
        const count = (u: number) => {
          calls++;
          return 100 + perUnit * u + (u % 3); // close to linear, not exactly
        };
        let want = 0;
        while (count(want + 1) <= budget) want++;
        calls = 0;
        const fit = fitUnits((u) => u, count, budget, { min: 0, max: Infinity })!;
        expect(fit.units).toBe(want);
        expect(fit.tokens).toBe(count(want));
        expect(calls).toBeLessThanOrEqual(8);
      }
    }
  });

  it('stops at max and refuses a budget that even min exceeds', () => {
    expect(fitUnits((u) => u, (u) => u, 1000, { min: 5, max: 40 })?.units).toBe(40);
    expect(fitUnits((u) => u, (u) => 10 + u, 9, { min: 0, max: 40 })).toBeUndefined();
    expect(fitUnits((u) => u, (u) => 10 + u, 20, { min: 0, max: 40, guess: 35 })?.units).toBe(10);
  });

  it('fills every task’s haystack to the target: within budget, one more unit would not fit', () => {
    for (const length of [4096, 16384]) {
      for (const task of RULER_TASKS) {
        const generate = task.generator({ seed: 3, length, countTokens: tokens });
        const budget = length - task.maxNewTokens;
        let guess: number | undefined;
        for (let index = 0; index < 3; index++) {
          const fit = fitUnits((u) => generate(index, u), promptTokens, budget, { min: task.minUnits, max: task.maxUnits, guess })!;
          guess = fit.units;
          expect(fit.tokens).toBe(promptTokens(fit.value));
          expect(fit.tokens).toBeLessThanOrEqual(budget);
          expect(promptTokens(generate(index, fit.units + 1))).toBeGreaterThan(budget);
          // One filler unit is at most a sentence or a needle (a listed word three times for cwe).
          expect(budget - fit.tokens).toBeLessThan(60);
        }
      }
    }
  });

  it('common words extraction runs out of words at very long lengths, like RULER', () => {
    const task = rulerTask('cwe');
    const generate = task.generator({ seed: 3, length: 200_000, countTokens: tokens });
    const fit = fitUnits((u) => generate(0, u), promptTokens, 200_000 - task.maxNewTokens, { min: task.minUnits, max: task.maxUnits })!;
    expect(fit.units).toBe(task.maxUnits);
  });
});
