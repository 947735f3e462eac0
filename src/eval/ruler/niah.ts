// RULER's needle-in-a-haystack tasks (scripts/data/synthetic/niah.py with the settings of
// scripts/synthetic.yaml): needles "One of the special magic numbers for <key> is: <value>." hidden in
// noise lines, essay prose or other needles; the question names one or more keys and the answer must
// hold every value of those keys.
import { ADJECTIVES, NOUNS } from './words.ts';
import { NOISE_LINE } from './filler-noise.ts';
import { essaySentences } from './filler-essay.ts';
import { Prng } from './prng.ts';
import { insertAt, type RulerTask, type SampleGenerator, type TaskRun } from './task.ts';

type NeedleKind = 'numbers' | 'words' | 'uuids';

interface NiahConfig {
  /** repeat: the noise line; essay: essay sentences; needle: needles with other keys and values. */
  haystack: 'repeat' | 'essay' | 'needle';
  keys: NeedleKind;
  values: NeedleKind;
  numKeys: number;
  numValues: number;
  numQueries: number;
}

const CONFIGS: Record<string, NiahConfig> = {
  niah_single_1: { haystack: 'repeat', keys: 'words', values: 'numbers', numKeys: 1, numValues: 1, numQueries: 1 },
  niah_single_2: { haystack: 'essay', keys: 'words', values: 'numbers', numKeys: 1, numValues: 1, numQueries: 1 },
  niah_single_3: { haystack: 'essay', keys: 'words', values: 'uuids', numKeys: 1, numValues: 1, numQueries: 1 },
  niah_multikey_1: { haystack: 'essay', keys: 'words', values: 'numbers', numKeys: 4, numValues: 1, numQueries: 1 },
  niah_multikey_2: { haystack: 'needle', keys: 'words', values: 'numbers', numKeys: 1, numValues: 1, numQueries: 1 },
  niah_multikey_3: { haystack: 'needle', keys: 'uuids', values: 'uuids', numKeys: 1, numValues: 1, numQueries: 1 },
  niah_multivalue: { haystack: 'essay', keys: 'words', values: 'numbers', numKeys: 1, numValues: 4, numQueries: 1 },
  niah_multiquery: { haystack: 'essay', keys: 'words', values: 'numbers', numKeys: 1, numValues: 1, numQueries: 4 },
};

/** RULER's essay depths: 40 evenly spaced percentages from 0 to 100, rounded. */
const DEPTHS = Array.from({ length: 40 }, (_, i) => Math.round((i * 100) / 39));

function draw(rng: Prng, kind: NeedleKind): string {
  if (kind === 'numbers') return String(rng.int(1_000_000, 9_999_999));
  if (kind === 'words') return `${rng.pick(ADJECTIVES)}-${rng.pick(NOUNS)}`;
  return rng.uuid();
}

/** `count` distinct draws, none of them in `avoid`. */
function drawDistinct(rng: Prng, kind: NeedleKind, count: number, avoid: ReadonlySet<string> = new Set()): string[] {
  const out = new Set<string>();
  while (out.size < count) {
    const value = draw(rng, kind);
    if (!avoid.has(value)) out.add(value);
  }
  return [...out];
}

const needle = (kind: NeedleKind, key: string, value: string) => `One of the special magic ${kind} for ${key} is: ${value}.`;

function niahTask(name: string, c: NiahConfig): RulerTask {
  return {
    name,
    maxNewTokens: 128,
    minUnits: 0,
    maxUnits: Infinity,
    generator: (run: TaskRun): SampleGenerator => {
      // RULER's essay haystack is the same text for every sample; only the needles move.
      let essay: string[] = [];
      const essayPrefix = (units: number) => {
        if (essay.length < units) essay = essaySentences(Math.max(units, essay.length * 2), run.seed);
        return essay.slice(0, units);
      };
      return (index, units) => {
        const rng = new Prng(run.seed, name, run.length, index);
        const numKeys = Math.max(c.numKeys, c.numQueries);
        const keys = drawDistinct(rng, c.keys, numKeys);
        const values = keys.map(() => drawDistinct(rng, c.values, c.numValues));
        const needles = rng.shuffle(keys.flatMap((key, k) => values[k].map((value) => needle(c.values, key, value))));
        const queried = rng.sample(keys, c.numQueries);
        const references = queried.flatMap((key) => values[keys.indexOf(key)]);
        const fractions =
          c.haystack === 'essay' ? rng.sample(DEPTHS, needles.length).sort((a, b) => a - b).map((d) => d / 100) : needles.map(() => rng.next());

        let filler: string[];
        if (c.haystack === 'repeat') filler = new Array<string>(units).fill(NOISE_LINE);
        else if (c.haystack === 'essay') filler = essayPrefix(units);
        else filler = distractors(new Prng(run.seed, name, run.length, index, 'distractors'), c, units, new Set(keys), new Set(values.flat()));
        // RULER puts a needle at int(sentences · depth) in the essay; a fraction of units + 1 slots is the same within one sentence.
        const { sequence, positions } = insertAt(filler, needles, fractions);
        const context = sequence.join(c.haystack === 'essay' ? ' ' : '\n');

        const query = queried.length > 1 ? `${queried.slice(0, -1).join(', ')}, and ${queried[queried.length - 1]}` : queried[0];
        const single = c.numQueries * c.numValues === 1;
        const kind = single ? c.values.slice(0, -1) : c.values;
        const instruction = single
          ? `A special magic ${kind} is hidden within the following text. Make sure to memorize it. I will quiz you about the ${kind} afterwards.`
          : `Some special magic ${kind} are hidden within the following text. Make sure to memorize it. I will quiz you about the ${kind} afterwards.`;
        return {
          task: name,
          index,
          document: `${instruction}\n${context}`,
          question: `What ${single ? 'is' : 'are all'} the special magic ${kind} for ${query} mentioned in the provided text?`,
          answerPrefix: ` The special magic ${kind} for ${query} mentioned in the provided text ${single ? 'is' : 'are'}`,
          references,
          depths: positions.map((p) => (units === 0 ? 0 : Math.round((p / units) * 1000) / 10)),
        };
      };
    },
  };
}

/** The "needle" haystack: needles for other keys, the same first ones whatever the count. */
function distractors(rng: Prng, c: NiahConfig, count: number, keys: ReadonlySet<string>, values: ReadonlySet<string>): string[] {
  return Array.from({ length: count }, () => needle(c.values, drawDistinct(rng, c.keys, 1, keys)[0], drawDistinct(rng, c.values, 1, values)[0]));
}

export const NIAH_TASKS: readonly RulerTask[] = Object.entries(CONFIGS).map(([name, config]) => niahTask(name, config));
