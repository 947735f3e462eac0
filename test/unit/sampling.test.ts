import { describe, expect, it } from 'vitest';
import { createSampler, createStopChecker, penalised, planSampling, SeenIds, TokenChooser } from '../../src/model/sampling.ts';
import type { SamplingOptions } from '../../src/star/reader-api.ts';
import { rng } from '../support/random.ts';

const logitsOf = (probs: number[]) => Float32Array.from(probs, Math.log);

function frequencies(options: SamplingOptions, logits: Float32Array, draws: number, previousIds: number[] = []) {
  const sampler = createSampler(options, logits.length);
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < draws; i++) counts[sampler.sample(logits, previousIds)]++;
  return counts.map((c) => c / draws);
}

function expectClose(got: number[], want: number[], tolerance: number) {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]), `p[${i}] = ${g}, want ${want[i]}`).toBeLessThanOrEqual(tolerance));
}

// 20 000 draws: one standard deviation of a frequency is at most 0.0036; tolerance is ~4σ.
const DRAWS = 20_000;
const TOLERANCE = 0.015;

describe('greedy (temperature 0)', () => {
  it('takes the largest logit, the lowest index on ties (torch.argmax)', () => {
    const sampler = createSampler({ temperature: 0 }, 5);
    expect(sampler.sample(Float32Array.of(1, 3, 3, 2, -Infinity), [])).toBe(1);
    expect(sampler.sample(Float32Array.of(-5, -5, -5, -5, -5), [])).toBe(0);
  });

  it('applies the repetition penalty like transformers: divide positive, multiply negative', () => {
    const sampler = createSampler({ temperature: 0, repetitionPenalty: 1.2 }, 2);
    expect(sampler.sample(Float32Array.of(2, 1.9), [])).toBe(0);
    expect(sampler.sample(Float32Array.of(2, 1.9), [0])).toBe(1); // 2 / 1.2 < 1.9
    expect(sampler.sample(Float32Array.of(2, 1.6), [0])).toBe(0); // 2 / 1.2 > 1.6
    expect(sampler.sample(Float32Array.of(-1, -1.1), [0])).toBe(1); // -1 · 1.2 < -1.1
    // Once per distinct id, however often it occurred.
    expect(sampler.sample(Float32Array.of(2, 1.6), [0, 0, 0, 0])).toBe(0);
  });

  it('ignores logits past vocabSize (Qwen pads its output layer)', () => {
    const sampler = createSampler({ temperature: 0 }, 3);
    expect(sampler.sample(Float32Array.of(0, 2, 1, 99), [])).toBe(1);
  });
});

describe('sampling distribution', () => {
  const probs = [0.5, 0.3, 0.2];

  it('draws from the softmax at temperature 1', () => {
    expectClose(frequencies({ temperature: 1, seed: 1 }, logitsOf(probs), DRAWS), probs, TOLERANCE);
  });

  it('temperature 2 flattens: p^(1/2), renormalised', () => {
    const root = probs.map(Math.sqrt);
    const sum = root.reduce((a, b) => a + b);
    expectClose(frequencies({ temperature: 2, seed: 2 }, logitsOf(probs), DRAWS), root.map((r) => r / sum), TOLERANCE);
  });

  it('the repetition penalty lowers the previous tokens', () => {
    // logits 1, 1: penalty 2 halves token 0's logit → p0 = e^0.5 / (e^0.5 + e).
    const p0 = Math.exp(0.5) / (Math.exp(0.5) + Math.E);
    expectClose(
      frequencies({ temperature: 1, repetitionPenalty: 2, seed: 3 }, Float32Array.of(1, 1), DRAWS, [0]),
      [p0, 1 - p0],
      TOLERANCE,
    );
  });

  it('top-k keeps the k best and renormalises; ties with the k-th are kept (torch.topk threshold)', () => {
    expectClose(frequencies({ topK: 1, seed: 4 }, logitsOf(probs), 500), [1, 0, 0], 0);
    expectClose(frequencies({ topK: 2, seed: 5 }, logitsOf(probs), DRAWS), [0.625, 0.375, 0], TOLERANCE);
    const tied = frequencies({ topK: 2, seed: 6 }, Float32Array.of(1, 1, 1, 0), DRAWS);
    expectClose(tied, [1 / 3, 1 / 3, 1 / 3, 0], TOLERANCE);
  });

  it('top-p keeps the smallest prefix reaching p, and always the best token', () => {
    // Mass before token 1 is 0.5 < 0.75: kept; before token 2 it is 0.8: dropped.
    expectClose(frequencies({ topP: 0.75, seed: 7 }, logitsOf(probs), DRAWS), [0.625, 0.375, 0], TOLERANCE);
    expectClose(frequencies({ topP: 0.45, seed: 8 }, logitsOf(probs), 500), [1, 0, 0], 0);
    expectClose(frequencies({ topP: 1e-9, seed: 9 }, logitsOf(probs), 500), [1, 0, 0], 0);
    expectClose(frequencies({ topP: 0, seed: 9 }, logitsOf(probs), 500), [1, 0, 0], 0);
  });

  it('top-k then top-p, as transformers orders its warpers', () => {
    // top-k 2 leaves 0.625 / 0.375; top-p 0.6 then keeps only the first.
    expectClose(frequencies({ topK: 2, topP: 0.6, seed: 10 }, logitsOf(probs), 500), [1, 0, 0], 0);
  });

  it('the same seed gives the same tokens, another seed others', () => {
    const logits = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3);
    const run = (seed: number) => {
      const sampler = createSampler({ temperature: 0.8, topK: 100, topP: 0.95, seed }, logits.length);
      return Array.from({ length: 64 }, () => sampler.sample(logits, []));
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });
});

describe('large vocabularies', () => {
  // A flat-ish distribution over 20 000 tokens whose nucleus holds thousands of them.
  const n = 20_000;
  const next = rng(123);
  const logits = Float32Array.from({ length: n }, () => next() * 4);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const rank = new Int32Array(n);
  order.forEach((id, r) => (rank[id] = r));
  const max = logits[order[0]];
  const weights = order.map((i) => Math.exp(logits[i] - max));
  const total = weights.reduce((a, b) => a + b);

  it('top-p without top-k samples exactly from the nucleus', () => {
    const topP = 0.5;
    let size = 0;
    for (let before = 0; size === 0 || before < topP * total; size++) before += weights[size];
    expect(size).toBeGreaterThan(1024);
    const nucleus = new Set(order.slice(0, size));
    const sampler = createSampler({ topP, seed: 11 }, n);
    let deepest = 0;
    for (let i = 0; i < 400; i++) {
      const id = sampler.sample(logits, []);
      expect(nucleus.has(id)).toBe(true);
      deepest = Math.max(deepest, rank[id]);
    }
    expect(deepest).toBeGreaterThan(size * 0.9);
  });

  it('top-k samples only the k best', () => {
    const best = new Set(order.slice(0, 300));
    const sampler = createSampler({ topK: 300, seed: 12 }, n);
    for (let i = 0; i < 300; i++) expect(best.has(sampler.sample(logits, []))).toBe(true);
  });
});

describe('edge cases', () => {
  it('one finite logit wins whatever the settings', () => {
    const logits = Float32Array.of(-Infinity, -Infinity, 0.5, -Infinity);
    for (const options of [{ temperature: 0 }, { seed: 1 }, { topK: 3, seed: 2 }, { topP: 0.1, seed: 3 }, { temperature: 5, seed: 4 }]) {
      const sampler = createSampler(options, 4);
      for (let i = 0; i < 50; i++) expect(sampler.sample(logits, [2])).toBe(2);
    }
  });

  it('large logits and a tiny temperature neither overflow nor give NaN', () => {
    const sampler = createSampler({ seed: 5, temperature: 1e-6, topP: 0.9 }, 3);
    for (let i = 0; i < 50; i++) expect(sampler.sample(Float32Array.of(3e38, -3e38, 2.9e38), [])).toBe(0);
    const close = createSampler({ seed: 6, temperature: 0.01 }, 2);
    const counts = [0, 0];
    for (let i = 0; i < 2000; i++) counts[close.sample(Float32Array.of(1000, 999.99), [])]++;
    expect(Math.abs(counts[0] / 2000 - Math.E / (Math.E + 1))).toBeLessThan(0.05);
  });

  it('rejects NaN logits, all -Infinity, and bad options', () => {
    expect(() => createSampler({ seed: 1 }, 2).sample(Float32Array.of(0, NaN), [])).toThrow(/NaN/);
    expect(() => createSampler({ temperature: 0 }, 2).sample(Float32Array.of(NaN, 0), [])).toThrow(/NaN/);
    expect(() => createSampler({}, 2).sample(Float32Array.of(-Infinity, -Infinity), [])).toThrow(/Infinity/);
    expect(() => createSampler({}, 4).sample(Float32Array.of(0, 1), [])).toThrow(/vocabulary/);
    expect(() => createSampler({ temperature: -1 }, 2)).toThrow(RangeError);
    expect(() => createSampler({ topP: 1.5 }, 2)).toThrow(RangeError);
    expect(() => createSampler({ topK: 2.5 }, 2)).toThrow(RangeError);
    expect(() => createSampler({ repetitionPenalty: 0 }, 2)).toThrow(RangeError);
  });

  it('does not modify the caller’s logits', () => {
    const logits = Float32Array.of(1, 2, 3);
    createSampler({ temperature: 0.5, repetitionPenalty: 1.3, seed: 1 }, 3).sample(logits, [2]);
    expect([...logits]).toEqual([1, 2, 3]);
  });
});

describe('repetition penalty memory', () => {
  it('marks only the new ids of a growing array, and rereads another or a shorter one', () => {
    const sampler = createSampler({ temperature: 0, repetitionPenalty: 10 }, 3);
    const logits = Float32Array.of(3, 2, 1);
    const ids: number[] = [];
    expect(sampler.sample(logits, ids)).toBe(0);
    ids.push(0);
    expect(sampler.sample(logits, ids)).toBe(1); // 0 is penalised: 0.3
    ids.push(1);
    expect(sampler.sample(logits, ids)).toBe(2);
    ids.length = 1; // rolled back: 1 is no longer seen
    expect(sampler.sample(logits, ids)).toBe(1);
    expect(sampler.sample(logits, [2])).toBe(0); // another array: only 2 is seen
  });

  it('SeenIds keeps each id once and ignores ids outside the vocabulary', () => {
    const seen = new SeenIds(5);
    seen.add([4, 1, 4, -1, 5, 1]);
    expect([...seen.list()]).toEqual([4, 1]);
    expect([...seen.flags]).toEqual([0, 1, 0, 0, 1]);
    seen.clear();
    expect([...seen.flags]).toEqual([0, 0, 0, 0, 0]);
    expect(seen.list().length).toBe(0);
  });

  it('is transformers’ f32 penalty, the division as a product by f32(1 / penalty)', () => {
    const plan = planSampling({ repetitionPenalty: 1.3 }, 4);
    expect(plan.penalty).toBe(Math.fround(1.3));
    expect(penalised(-2, true, plan)).toBe(Math.fround(-2 * Math.fround(1.3)));
    expect(penalised(2, true, plan)).toBe(Math.fround(2 * Math.fround(1 / Math.fround(1.3))));
    expect(Math.abs(penalised(2, true, plan) - 2 / 1.3)).toBeLessThan(3e-7);
    expect(penalised(2, false, plan)).toBe(2);
    expect(penalised(-Infinity, true, plan)).toBe(-Infinity);
  });
});

describe('TokenChooser.fromCandidates', () => {
  const n = 2000;
  // 21 strong ids over a tail, so that a top-p nucleus fits among 64 candidates.
  const logits = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 3 + (i % 97 === 0 ? 8 : 0));
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  /** The best `count` ids, as the GPU hands them over (shuffled), with the rest summarised. */
  const candidatesOf = (count: number, temperature: number) => {
    const ids = order.slice(0, count).reverse();
    const max = logits[order[0]];
    const rest = order.slice(count);
    return {
      ids,
      logits: ids.map((id) => logits[id]),
      bestOther: logits[rest[0]],
      restMass: rest.reduce((sum, id) => sum + Math.exp((logits[id] - max) / temperature), 0),
    };
  };

  it('gives fromLogits’ token for the same draws, and undefined without a draw when it cannot', () => {
    for (const options of [{ topK: 40 }, { topK: 64, topP: 0.7 }, { topP: 0.6, temperature: 0.8 }]) {
      const plan = planSampling(options, n);
      const full = new TokenChooser(plan, 77);
      const partial = new TokenChooser(plan, 77);
      const c = candidatesOf(64, plan.temperature);
      for (let step = 0; step < 50; step++) expect(partial.fromCandidates(c)).toBe(full.fromLogits(logits));
    }
    const plan = planSampling({ topK: 65 }, n);
    const full = new TokenChooser(plan, 78);
    const partial = new TokenChooser(plan, 78);
    expect(partial.fromCandidates(candidatesOf(64, 1))).toBeUndefined(); // top-k beyond the candidates
    const draws = (chooser: TokenChooser) => Array.from({ length: 20 }, () => chooser.fromLogits(logits));
    expect(draws(partial)).toEqual(draws(full)); // no random number was used
    expect(new TokenChooser(planSampling({ temperature: 0.5 }, n), 1).fromCandidates(candidatesOf(64, 0.5))).toBeUndefined();
    expect(new TokenChooser(planSampling({ topP: 0.999 }, n), 1).fromCandidates(candidatesOf(64, 1))).toBeUndefined();
  });
});

describe('createStopChecker', () => {
  it('passes text through when no stop string can start', () => {
    const stop = createStopChecker(['\nQuestion:']);
    expect(stop.push('Hello')).toEqual({ text: 'Hello', stopped: false });
    expect(stop.push(' world')).toEqual({ text: ' world', stopped: false });
  });

  it('holds back a possible start and releases it when it diverges', () => {
    const stop = createStopChecker(['\nQuestion:']);
    expect(stop.push('Paris.\nQu')).toEqual({ text: 'Paris.', stopped: false });
    expect(stop.push('ite')).toEqual({ text: '\nQuite', stopped: false });
  });

  it('stops at a stop string split over pieces, returning only the text before it', () => {
    const stop = createStopChecker(['\nQuestion:']);
    expect(stop.push('Paris.\n')).toEqual({ text: 'Paris.', stopped: false });
    expect(stop.push('Ques')).toEqual({ text: '', stopped: false });
    expect(stop.push('tion: more')).toEqual({ text: '', stopped: true });
    expect(stop.push('later')).toEqual({ text: '', stopped: true });
  });

  it('stops at the earliest of several stop strings', () => {
    const stop = createStopChecker(['END', 'STOP']);
    expect(stop.push('a STOP b END')).toEqual({ text: 'a ', stopped: true });
  });

  it('flushes held text when generation ends otherwise', () => {
    const stop = createStopChecker(['</answer>']);
    expect(stop.push('42 </ans')).toEqual({ text: '42 ', stopped: false });
    expect(stop.flush()).toBe('</ans');
  });

  it('with no stop strings never holds anything', () => {
    const stop = createStopChecker(['']);
    expect(stop.push('a')).toEqual({ text: 'a', stopped: false });
  });
});
