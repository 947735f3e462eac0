// What every RULER task provides: a generator of samples whose haystack size is a number of filler
// units (noise lines, essay sentences, distractor needles or listed words) that the runner fits to
// the target length in the model's tokens.

export interface RulerSample {
  task: string;
  index: number;
  /** Phase 1 text: RULER's template up to the question — instructions, any worked example, the haystack. */
  document: string;
  /** RULER's question. */
  question: string;
  /** RULER's answer prefix (the text the answer starts with). */
  answerPrefix: string;
  /** The strings string_match_all looks for in the answer. */
  references: string[];
  /** Needle tasks: each needle's depth in the haystack, in percent of its filler units. */
  depths?: number[];
}

export interface TaskRun {
  seed: number;
  /** Target length in tokens: prompt + generated tokens (RULER's max_seq_length). */
  length: number;
  /** Tokens of a text (tasks that fit a worked example to a token budget, as RULER does, use it). */
  countTokens: (text: string) => number;
}

/** Sample `index` with `units` filler units. Keys, values and questions depend on the index only. */
export type SampleGenerator = (index: number, units: number) => RulerSample;

export interface RulerTask {
  readonly name: string;
  /** RULER's tokens_to_generate. */
  readonly maxNewTokens: number;
  /** Fewest filler units a sample can have. */
  readonly minUnits: number;
  /** Most filler units (common words extraction: its word pool); Infinity when unbounded. */
  readonly maxUnits: number;
  generator(run: TaskRun): SampleGenerator;
}

/** Puts item i before filler unit floor(fraction_i · (n + 1)) (after the last when that is n); returns the sequence and each item's slot. */
export function insertAt<T>(units: readonly T[], items: readonly T[], fractions: readonly number[]): { sequence: T[]; positions: number[] } {
  const slots = fractions.map((f) => Math.min(units.length, Math.floor(f * (units.length + 1))));
  const order = items.map((_, i) => i).sort((a, b) => slots[a] - slots[b] || a - b);
  const sequence: T[] = [];
  const positions = new Array<number>(items.length);
  let next = 0;
  for (const i of order) {
    while (next < slots[i]) sequence.push(units[next++]);
    positions[i] = slots[i];
    sequence.push(items[i]);
  }
  while (next < units.length) sequence.push(units[next++]);
  return { sequence, positions };
}
