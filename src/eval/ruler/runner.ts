// Runs RULER tasks on a reader: each sample is generated once, fitted to the target length in the
// model's tokens, then read and answered greedily in every attention mode asked for. Phase 1 encodes
// the document (instructions and haystack); phase 2 feeds the question, then RULER's answer prefix
// after the assistant header, where RULER puts it.
import type { AnswerStats, AttentionMode, ModelSummary, Reader } from '../../star/reader-api.ts';
import { fitUnits } from './haystack.ts';
import { stringMatchAll, taskScore } from './score.ts';
import type { RulerSample, RulerTask } from './task.ts';

export interface RulerRunOptions {
  lengths: readonly number[];
  tasks: readonly RulerTask[];
  modes: readonly AttentionMode[];
  /** Samples per task and length. */
  samples: number;
  seed: number;
  /** Star Attention block size (default: the planner's choice for each document). */
  blockSize?: number;
  /** Hosts Star Attention spreads the blocks over (full attention runs on one). */
  hosts?: number;
  /**
   * Caps the tokens generated per answer below RULER's (smoke tests on slow devices). Samples are
   * sized for RULER's count either way, so they are the same; scores may drop.
   */
  maxNewTokens?: number;
  onProgress?: (message: string) => void;
}

export interface ModeRun {
  prediction: string;
  /** This sample's string_match_all ×100. */
  score: number;
  blocks: number;
  blockSize: number;
  hosts: number;
  encodeMs: number;
  generatedTokens: number;
}

export interface SampleResult {
  index: number;
  /** Prompt tokens as encoded (phase 1 and the query); with the task's new tokens they fit the length. */
  tokens: number;
  /** Phase 1's share of them: the document in the chat template. */
  documentTokens: number;
  /** Filler units in the haystack. */
  units: number;
  references: string[];
  depths?: number[];
  runs: Partial<Record<AttentionMode, ModeRun>>;
}

export interface TaskResult {
  task: string;
  length: number;
  maxNewTokens: number;
  /** RULER's task score for each mode: mean string_match_all ×100. */
  scores: Partial<Record<AttentionMode, number>>;
  samples: SampleResult[];
}

export interface RulerReport {
  date: string;
  model: ModelSummary;
  seed: number;
  samples: number;
  blockSize?: number;
  hosts: number;
  maxNewTokens?: number;
  lengths: number[];
  tasks: string[];
  modes: AttentionMode[];
  results: TaskResult[];
}

/** Pure greedy decoding, as RULER runs it: no repetition penalty from the model's generation_config. */
const GREEDY = { temperature: 0, repetitionPenalty: 1 };

/**
 * Tokens kept free beyond RULER's answer room: the prompt is counted as template overhead + document
 * + query, and a tokenizer may merge a token differently where they meet. Without it a sample at a
 * length equal to the context window could run past the window on its last generated token.
 */
const BOUNDARY_SLACK = 2;

/** Tokens the prompt may take at `length`, leaving the task's answer room. */
const answerBudget = (length: number, task: RulerTask) => length - task.maxNewTokens - BOUNDARY_SLACK;

const tooShort = (length: number, task: RulerTask, least: number) =>
  new RangeError(`${length} tokens is too short for ${task.name}: its prompt takes ${least} tokens without filler, and ${task.maxNewTokens} are kept for the answer`);

/** The answer's opening, fed after the assistant header (RULER's templates end with a blank line there). */
const answerPrefix = (s: RulerSample) => s.answerPrefix.trimStart();

export async function runRuler(reader: Reader, options: RulerRunOptions): Promise<RulerReport> {
  const window = reader.model.contextWindow;
  const tooLong = options.lengths.filter((n) => n > window);
  if (tooLong.length) {
    throw new RangeError(`${tooLong.join(', ')} tokens exceed ${reader.model.name}'s context window of ${window} tokens (max_position_embeddings)`);
  }
  const overhead = await templateOverhead(reader);
  const count = (s: RulerSample) => overhead + reader.countTokens(s.document) + reader.countTokens(s.question.trim()) + reader.countTokens(answerPrefix(s));
  // Every task must fit every length before anything runs: a refusal after an hour of reading helps no one.
  for (const length of options.lengths) {
    for (const task of options.tasks) {
      const least = count(task.generator({ seed: options.seed, length, countTokens: (text) => reader.countTokens(text) })(0, task.minUnits));
      if (least > answerBudget(length, task)) {
        throw tooShort(length, task, least);
      }
    }
  }
  const results: TaskResult[] = [];
  for (const length of options.lengths) {
    for (const task of options.tasks) {
      const generate = task.generator({ seed: options.seed, length, countTokens: (text) => reader.countTokens(text) });
      const budget = answerBudget(length, task);
      const samples: SampleResult[] = [];
      let guess: number | undefined;
      for (let index = 0; index < options.samples; index++) {
        const fit = fitUnits((units) => generate(index, units), count, budget, { min: task.minUnits, max: task.maxUnits, guess });
        if (!fit) {
          const least = count(generate(index, task.minUnits));
          throw tooShort(length, task, least);
        }
        guess = fit.units;
        const sample = fit.value;
        const result: SampleResult = { index, tokens: 0, documentTokens: 0, units: fit.units, references: sample.references, depths: sample.depths, runs: {} };
        for (const mode of options.modes) {
          const encoded = await reader.loadDocument(sample.document, { attention: mode, blockSize: options.blockSize, hosts: options.hosts });
          const { text, stats } = await answer(reader, sample.question, answerPrefix(sample), Math.min(task.maxNewTokens, options.maxNewTokens ?? Infinity));
          result.documentTokens = encoded.tokens;
          result.tokens = encoded.tokens + stats.promptTokens;
          result.runs[mode] = {
            prediction: text,
            score: stringMatchAll(text, sample.references) * 100,
            blocks: encoded.blocks,
            blockSize: encoded.blockSize,
            hosts: encoded.hosts,
            encodeMs: encoded.encodeMs,
            generatedTokens: stats.generatedTokens,
          };
        }
        samples.push(result);
        const scores = options.modes.map((m) => `${m} ${result.runs[m]!.score.toFixed(0)}`).join(', ');
        options.onProgress?.(`${task.name} @${length} #${index + 1}/${options.samples} (${result.tokens} tokens): ${scores}`);
      }
      const scores: TaskResult['scores'] = {};
      for (const mode of options.modes) {
        scores[mode] = taskScore(samples.map((s) => ({ prediction: s.runs[mode]!.prediction, references: s.references })));
      }
      results.push({ task: task.name, length, maxNewTokens: task.maxNewTokens, scores, samples });
    }
  }
  return {
    date: new Date().toISOString(),
    model: reader.model,
    seed: options.seed,
    samples: options.samples,
    blockSize: options.blockSize,
    hosts: options.hosts ?? 1,
    maxNewTokens: options.maxNewTokens,
    lengths: [...options.lengths],
    tasks: options.tasks.map((t) => t.name),
    modes: [...options.modes],
    results,
  };
}

/**
 * Tokens the chat template adds around the document and the query (system prompt, turn headers),
 * measured once on a one-word document and question: the haystack is sized to what is left.
 */
async function templateOverhead(reader: Reader): Promise<number> {
  const word = 'Hello';
  const encoded = await reader.loadDocument(word, { attention: 'full' });
  const { stats } = await answer(reader, word, '', 0);
  return encoded.tokens + stats.promptTokens - 2 * reader.countTokens(word);
}

async function answer(reader: Reader, question: string, prefix: string, maxTokens: number): Promise<{ text: string; stats: AnswerStats }> {
  const stream = reader.ask(question, { maxTokens, sampling: GREEDY, answerPrefix: prefix });
  let text = '';
  for (;;) {
    const next = await stream.next();
    if (next.done) return { text, stats: next.value };
    text += next.value;
  }
}
