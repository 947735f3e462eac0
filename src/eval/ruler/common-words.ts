// RULER's common words extraction (scripts/data/synthetic/common_words_extraction.py, task "cwe"): a
// numbered list in which ten words appear often and the rest rarely; the answer must name the ten.
// A worked example on a short list comes first. Below 4096 tokens RULER lowers the repetitions.
import { ALL_WORDS } from './words.ts';
import { Prng } from './prng.ts';
import type { RulerTask, SampleGenerator, TaskRun } from './task.ts';

const COMMON = 10;
const INSTRUCTION = 'Below is a numbered list of words. In these words, some appear more often than others. Memorize the ones that appear most often.';
const QUESTION = `Question: What are the ${COMMON} most common words in the above list?`;
const ANSWER_PREFIX = ` Answer: The top ${COMMON} words that appear most often in the list are:`;

const numbered = (words: readonly string[]) => words.map((w, i) => `${i + 1}. ${w}`).join(' ');

/** The list of `words` (the first ten common), shuffled; returns it numbered. */
function list(rng: Prng, words: readonly string[], commonRepeats: number, uncommonRepeats: number): string {
  const common = words.slice(0, COMMON).flatMap((w) => new Array<string>(commonRepeats).fill(w));
  const uncommon = words.slice(COMMON).flatMap((w) => new Array<string>(uncommonRepeats).fill(w));
  return numbered(rng.shuffle([...common, ...uncommon]));
}

export const COMMON_WORDS: RulerTask = {
  name: 'cwe',
  maxNewTokens: 120,
  minUnits: COMMON,
  maxUnits: ALL_WORDS.length,
  generator(run: TaskRun): SampleGenerator {
    const short = run.length < 4096;
    const [exampleWords, exampleCommon, exampleUncommon] = short ? [20, 3, 1] : [40, 10, 3];
    const [commonRepeats, uncommonRepeats] = short ? [6, 1] : [30, 3];
    return (index, units) => {
      const rng = new Prng(run.seed, 'cwe', run.length, index);
      const shotWords = rng.sample(ALL_WORDS, exampleWords);
      const shot = `${INSTRUCTION}\n${list(rng, shotWords, exampleCommon, exampleUncommon)}\n${QUESTION}${ANSWER_PREFIX} ${numbered(shotWords.slice(0, COMMON))}`;
      // The words are a prefix of one shuffle of the pool: a bigger list keeps the same common words.
      const words = rng.shuffle(ALL_WORDS).slice(0, units);
      const context = list(new Prng(run.seed, 'cwe', run.length, index, 'order'), words, commonRepeats, uncommonRepeats);
      return {
        task: 'cwe',
        index,
        document: `${shot}\n${INSTRUCTION}\n${context}`,
        question: QUESTION,
        answerPrefix: ANSWER_PREFIX,
        references: words.slice(0, COMMON),
      };
    };
  },
};
