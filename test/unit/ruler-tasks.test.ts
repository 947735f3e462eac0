import { describe, expect, it } from 'vitest';
import { RULER_TASKS, rulerTask } from '../../src/eval/ruler/tasks.ts';
import { essaySentences } from '../../src/eval/ruler/filler-essay.ts';
import { NOISE_LINE } from '../../src/eval/ruler/filler-noise.ts';
import { ADJECTIVES, ALL_WORDS, NOUNS, VERBS } from '../../src/eval/ruler/words.ts';
import { Prng } from '../../src/eval/ruler/prng.ts';
import type { RulerSample } from '../../src/eval/ruler/task.ts';

const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
const sample = (name: string, units: number, index = 0, seed = 42, length = 8192): RulerSample =>
  rulerTask(name).generator({ seed, length, countTokens: words })(index, units);
const occurrences = (text: string, part: string) => text.split(part).length - 1;

describe('RULER task generation', () => {
  it('has RULER’s task names and max new tokens', () => {
    expect(RULER_TASKS.map((t) => [t.name, t.maxNewTokens])).toEqual([
      ['niah_single_1', 128],
      ['niah_single_2', 128],
      ['niah_single_3', 128],
      ['niah_multikey_1', 128],
      ['niah_multikey_2', 128],
      ['niah_multikey_3', 128],
      ['niah_multivalue', 128],
      ['niah_multiquery', 128],
      ['vt', 30],
      ['cwe', 120],
    ]);
    expect(() => rulerTask('qa_1')).toThrow(/Unknown RULER task "qa_1"/);
  });

  it('is deterministic in the seed, and the seed, index and length all change the sample', () => {
    for (const task of RULER_TASKS) {
      const a = sample(task.name, 40);
      expect(sample(task.name, 40)).toEqual(a);
      expect(sample(task.name, 40, 0, 43).document).not.toBe(a.document);
      expect(sample(task.name, 40, 1).references).not.toEqual(a.references);
      expect(sample(task.name, 40, 0, 42, 4096).references).not.toEqual(a.references);
    }
  });

  it('keeps keys, values and questions whatever the haystack size', () => {
    for (const task of RULER_TASKS) {
      const small = sample(task.name, task.minUnits);
      const big = sample(task.name, 300);
      expect(big.references).toEqual(small.references);
      expect(big.question).toBe(small.question);
      expect(big.document.length).toBeGreaterThan(small.document.length);
    }
  });

  it('niah: the queried needles are present exactly once, every reference once, at the recorded depth', () => {
    const configs: Record<string, { keys: number; values: number; queries: number; value: RegExp }> = {
      niah_single_1: { keys: 1, values: 1, queries: 1, value: /^\d{7}$/ },
      niah_single_2: { keys: 1, values: 1, queries: 1, value: /^\d{7}$/ },
      niah_single_3: { keys: 1, values: 1, queries: 1, value: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/ },
      niah_multikey_1: { keys: 4, values: 1, queries: 1, value: /^\d{7}$/ },
      niah_multikey_2: { keys: 1, values: 1, queries: 1, value: /^\d{7}$/ },
      niah_multikey_3: { keys: 1, values: 1, queries: 1, value: /^[0-9a-f-]{36}$/ },
      niah_multivalue: { keys: 1, values: 4, queries: 1, value: /^\d{7}$/ },
      niah_multiquery: { keys: 4, values: 1, queries: 4, value: /^\d{7}$/ },
    };
    for (const [name, c] of Object.entries(configs)) {
      for (const units of [0, 7, 120]) {
        for (const index of [0, 1, 2]) {
          const s = sample(name, units, index);
          expect(s.references).toHaveLength(c.queries * c.values);
          expect(s.depths).toHaveLength(c.keys * c.values);
          for (const value of s.references) {
            expect(value).toMatch(c.value);
            expect(occurrences(s.document, value)).toBe(1);
            const needle = new RegExp(`One of the special magic (numbers|uuids) for (\\S+) is: ${value}\\.`).exec(s.document);
            expect(needle).not.toBeNull();
            expect(s.question).toContain(needle![2]);
            expect(s.answerPrefix).toContain(needle![2]);
            expect(occurrences(s.document, `for ${needle![2]} is:`)).toBe(c.values);
          }
          for (const d of s.depths!) {
            expect(d).toBeGreaterThanOrEqual(0);
            expect(d).toBeLessThanOrEqual(100);
          }
        }
      }
    }
  });

  it('niah: noise and distractor haystacks put the needle after depth·units filler lines', () => {
    for (const name of ['niah_single_1', 'niah_multikey_2']) {
      for (let index = 0; index < 5; index++) {
        const s = sample(name, 50, index);
        const lines = s.document.split('\n').slice(1);
        expect(lines).toHaveLength(51);
        const at = lines.findIndex((l) => l.endsWith(` ${s.references[0]}.`));
        expect(at).toBe(Math.round((s.depths![0] * 50) / 100));
        if (name === 'niah_single_1') expect(lines.filter((l) => l === NOISE_LINE)).toHaveLength(50);
        else expect(lines.every((l) => /^One of the special magic numbers for [a-z]+-[a-z]+ is: \d{7}\.$/.test(l))).toBe(true);
      }
    }
  });

  it('niah: essay haystacks use RULER’s 40 depths and essay sentences', () => {
    const grid = Array.from({ length: 40 }, (_, i) => Math.round((i * 100) / 39));
    for (let index = 0; index < 10; index++) {
      const s = sample('niah_multivalue', 1000, index);
      for (const d of s.depths!) expect(grid.some((g) => Math.abs(g - d) <= 0.1)).toBe(true);
      expect(new Set(s.depths).size).toBe(4);
    }
    const s = sample('niah_single_2', 30);
    const essay = essaySentences(30, 42);
    expect(s.document.startsWith('A special magic number is hidden within the following text.')).toBe(true);
    for (const sentence of essay) expect(s.document).toContain(sentence);
  });

  it('niah: RULER’s templates, singular for one value, plural otherwise', () => {
    const single = sample('niah_single_1', 3);
    const key = /for (\S+) mentioned/.exec(single.question)![1];
    expect(single.document.split('\n')[0]).toBe(
      'A special magic number is hidden within the following text. Make sure to memorize it. I will quiz you about the number afterwards.',
    );
    expect(single.question).toBe(`What is the special magic number for ${key} mentioned in the provided text?`);
    expect(single.answerPrefix).toBe(` The special magic number for ${key} mentioned in the provided text is`);
    expect(sample('niah_single_3', 3).question).toMatch(/^What is the special magic uuid for [a-z]+-[a-z]+ mentioned/);

    const multi = sample('niah_multiquery', 3);
    const keys = /for (.+) mentioned/.exec(multi.question)![1];
    expect(keys).toMatch(/^[a-z]+-[a-z]+, [a-z]+-[a-z]+, [a-z]+-[a-z]+, and [a-z]+-[a-z]+$/);
    expect(multi.document.split('\n')[0]).toBe(
      'Some special magic numbers are hidden within the following text. Make sure to memorize it. I will quiz you about the numbers afterwards.',
    );
    expect(multi.question).toBe(`What are all the special magic numbers for ${keys} mentioned in the provided text?`);
    expect(multi.answerPrefix).toBe(` The special magic numbers for ${keys} mentioned in the provided text are`);
  });

  it('vt: one chain of four hops in order, a worked example first, the answer resolvable from the text', () => {
    for (let index = 0; index < 5; index++) {
      const s = sample('vt', 40, index);
      const value = /the value (\d{5}) in the text above\.$/.exec(s.question)![1];
      expect(s.answerPrefix).toBe(` Answer: According to the chain(s) of variable assignment in the text above, 5 variables are assgined the value ${value}, they are: `);
      const [shot, task] = s.document.split('\n\nMemorize and track the chain(s) of variable assignment hidden in the following text.\n\n');
      expect(shot).toMatch(/^Memorize and track .* they are: [A-Z]{3} [A-Z]{3} [A-Z]{3} [A-Z]{3} [A-Z]{3}$/s);
      expect(occurrences(task, NOISE_LINE)).toBe(40);
      expect(s.references).toHaveLength(5);
      // Follow the chain from the value.
      const assignments = [...task.matchAll(/VAR ([A-Z]{5}) = (VAR ([A-Z]{5})|\d+)/g)];
      expect(assignments).toHaveLength(5);
      const held = new Set<string>();
      for (const [, name, , from] of assignments) if (from ? held.has(from) : true) held.add(name);
      expect([...held]).toEqual(s.references);
      expect(assignments[0][2]).toBe(value);
    }
  });

  it('cwe: ten words repeated often, the rest rarely, after a worked example', () => {
    for (const [length, common, rare] of [
      [8192, 30, 3],
      [2048, 6, 1],
    ]) {
      const s = sample('cwe', 60, 0, 42, length);
      const parts = s.document.split('Memorize the ones that appear most often.\n');
      expect(parts).toHaveLength(3);
      expect(parts[1]).toMatch(/\nQuestion: What are the 10 most common words in the above list\? Answer: The top 10 words that appear most often in the list are: 1\. \w+ .* 10\. \w+\nBelow is/s);
      const entries = [...parts[2].matchAll(/(\d+)\. ([a-z]+)/g)];
      expect(entries.map((e) => Number(e[1]))).toEqual(entries.map((_, i) => i + 1));
      const counts = new Map<string, number>();
      for (const [, , word] of entries) counts.set(word, (counts.get(word) ?? 0) + 1);
      expect(counts.size).toBe(60);
      expect(s.references).toHaveLength(10);
      for (const [word, n] of counts) expect(n).toBe(s.references.includes(word) ? common : rare);
    }
    expect(rulerTask('cwe').maxUnits).toBe(ALL_WORDS.length);
  });
});

describe('RULER fillers and words', () => {
  it('the essay is prose without digits or needles, deterministic and the same prefix at any size', () => {
    const long = essaySentences(2000, 7);
    expect(long).toHaveLength(2000);
    expect(essaySentences(100, 7)).toEqual(long.slice(0, 100));
    expect(essaySentences(100, 8)).not.toEqual(long.slice(0, 100));
    for (const sentence of long) {
      expect(sentence).toMatch(/^[A-Z][^0-9]*[.]$/);
      expect(sentence).not.toMatch(/magic|special/i);
    }
    expect(new Set(long).size).toBeGreaterThan(1000);
  });

  it('word lists: letters only, no duplicates, enough for RULER-sized keys and lists', () => {
    for (const list of [NOUNS, ADJECTIVES, VERBS, ALL_WORDS]) {
      expect(new Set(list).size).toBe(list.length);
      for (const w of list) expect(w).toMatch(/^[a-z]+$/);
    }
    expect(NOUNS.length).toBeGreaterThan(1500);
    expect(ADJECTIVES.length).toBeGreaterThan(500);
    expect(ALL_WORDS.length).toBeGreaterThan(2500);
  });

  it('the PRNG is seeded by its parts, uniform enough, and draws distinct samples', () => {
    const a = new Prng(1, 'x');
    const b = new Prng(1, 'x');
    const draws = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(draws);
    expect(new Prng(1, 'y').next()).not.toBe(draws[0]);
    expect(Math.abs(draws.reduce((s, x) => s + x, 0) / 1000 - 0.5)).toBeLessThan(0.05);
    const ints = Array.from({ length: 1000 }, () => a.int(3, 5));
    expect(new Set(ints)).toEqual(new Set([3, 4, 5]));
    expect(new Set(a.sample([...Array(50).keys()], 50)).size).toBe(50);
    expect(a.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
