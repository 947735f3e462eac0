// RULER's variable tracking (scripts/data/synthetic/variable_tracking.py, task "vt": one chain of four
// hops): "VAR ABCDE = 12345", "VAR FGHIJ = VAR ABCDE", … scattered through noise lines; the answer
// must name every variable that ends up holding the value. A worked example (RULER's one-shot, fitted
// to 500 tokens with three-letter variables) comes first.
import { NOISE_LINE } from './filler-noise.ts';
import { Prng } from './prng.ts';
import { insertAt, type RulerTask, type SampleGenerator, type TaskRun } from './task.ts';
import { fitUnits } from './haystack.ts';

const HOPS = 4;
const MAX_NEW_TOKENS = 30;
const INSTRUCTION = 'Memorize and track the chain(s) of variable assignment hidden in the following text.';
const question = (value: string) => `Question: Find all variables that are assigned the value ${value} in the text above.`;
// "assgined" (sic): RULER's wording, kept so the prompts match.
const answerPrefix = (value: string) =>
  ` Answer: According to the chain(s) of variable assignment in the text above, ${HOPS + 1} variables are assgined the value ${value}, they are: `;

interface Chain {
  names: string[];
  value: string;
  context: string;
}

function chain(rng: Prng, letters: number, noiseLines: number): Chain {
  const distinct = new Set<string>();
  while (distinct.size < HOPS + 1) distinct.add(Array.from({ length: letters }, () => String.fromCharCode(65 + rng.int(0, 25))).join(''));
  const names = [...distinct];
  const value = String(rng.int(10000, 99999));
  const statements = names.map((name, i) => (i === 0 ? `VAR ${name} = ${value}` : `VAR ${name} = VAR ${names[i - 1]} `));
  const fractions = statements.map(() => rng.next()).sort((a, b) => a - b);
  // RULER joins noise lines (each ending in a newline) and statements with spaces.
  const { sequence } = insertAt(new Array<string>(noiseLines).fill(NOISE_LINE + '\n'), statements, fractions);
  return { names, value, context: sequence.join(' ') };
}

/** RULER's one-shot example: the template on one line, its answer filled in. */
function example(c: Chain): string {
  return `${INSTRUCTION} ${c.context} ${question(c.value)}${answerPrefix(c.value)}${c.names.join(' ')}`;
}

export const VARIABLE_TRACKING: RulerTask = {
  name: 'vt',
  maxNewTokens: MAX_NEW_TOKENS,
  minUnits: 0,
  maxUnits: Infinity,
  generator(run: TaskRun): SampleGenerator {
    // RULER fits the example to 500 tokens with its answer and 30 generated; short targets (tests,
    // tiny models) get a proportionally smaller one, down to none.
    const budget = Math.min(500, Math.floor(run.length / 8)) - MAX_NEW_TOKENS;
    const build = (lines: number) => example(chain(new Prng(run.seed, 'vt', run.length, 'example'), 3, lines));
    const shot = fitUnits(build, run.countTokens, budget, { min: 0, max: Infinity })?.value ?? build(0);
    return (index, units) => {
      const c = chain(new Prng(run.seed, 'vt', run.length, index), 5, units);
      return {
        task: 'vt',
        index,
        document: `${shot}\n\n${INSTRUCTION}\n\n${c.context}`,
        question: question(c.value),
        answerPrefix: answerPrefix(c.value),
        references: c.names,
      };
    };
  },
};
