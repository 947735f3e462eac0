// The speedup demo: the speed benchmark (src/bench/speed-bench.ts) with the reader over prefixes of the user's
// document as its subject. One reader per configuration, loaded in turn (only one model copy on the GPU
// beside the chat's); full attention and the first star configuration answer the question at the
// longest length, side by side.
import {
  configKey,
  runSpeedBench,
  type SpeedConfig,
  type SpeedRow,
  type SpeedSession,
  type SpeedSubject,
} from '../bench/speed-bench.ts';
import { loadProgressBar, type AnswerStats, type EncodeProgress, type LoadBar, type ModelSource, type SamplingOptions } from '../star/reader-api.ts';
import type { ReaderFactory } from './session.ts';
import { prefixWithinTokens } from './truncate.ts';

export { configKey, configLabel } from '../bench/speed-bench.ts';
export type SpeedupConfig = SpeedConfig;
export type SpeedupRow = SpeedRow;

export interface SpeedupPlan {
  /** Context lengths in tokens (prefixes of the document), measured in ascending order. */
  lengths: number[];
  /** Host counts to run star attention with; full attention runs once, on one host. */
  hosts: number[];
  /** Star's block size; undefined: the planner's choice at each length. */
  blockSize?: number;
  /** Encodes the shortest prefix once, untimed, so shader compilation is not charged to the first row. */
  warmUp: boolean;
  /** Asked at the longest length with full attention and with the first star configuration. */
  question?: string;
  maxTokens: number;
  sampling: SamplingOptions;
}

export interface SpeedupAnswer {
  config: SpeedupConfig;
  text: string;
  stats?: AnswerStats;
}

export type SpeedupEvent =
  | { type: 'loading'; config: SpeedupConfig; progress?: LoadBar }
  | { type: 'encoding'; config: SpeedupConfig; length: number; warmUp: boolean; progress: EncodeProgress }
  | { type: 'row'; row: SpeedupRow }
  | { type: 'answer'; answer: SpeedupAnswer };

export function speedupConfigs(hosts: readonly number[], blockSize?: number): SpeedupConfig[] {
  return [
    { attention: 'full', hosts: 1 },
    ...[...hosts].sort((a, b) => a - b).map((h): SpeedupConfig => ({ attention: 'star', hosts: h, blockSize })),
  ];
}

/** Doublings from 512 up to `limit`, plus `limit` itself when it is not one. */
export function lengthChoices(limit: number): number[] {
  const out: number[] = [];
  for (let n = 512; n < limit; n *= 2) out.push(n);
  if (limit > 0) out.push(limit);
  return out;
}

export async function runSpeedup(
  createReader: ReaderFactory,
  model: ModelSource,
  text: string,
  plan: SpeedupPlan,
  signal: AbortSignal,
  report: (event: SpeedupEvent) => void,
): Promise<void> {
  const configs = speedupConfigs(plan.hosts, plan.blockSize);
  const answered = new Set(configs.slice(0, 2).map(configKey));
  const longest = Math.max(...plan.lengths);
  // Every reader tokenizes alike: each prefix is cut once and encoded by all.
  const prefixes = new Map<number, string>();

  const subject: SpeedSubject = {
    sessions: 'per-config',
    async open([config]): Promise<SpeedSession> {
      report({ type: 'loading', config });
      const bar = loadProgressBar();
      const reader = await createReader({
        model,
        attention: config.attention,
        hosts: config.hosts,
        blockSize: config.blockSize,
        signal,
        onLoadProgress: (event) => report({ type: 'loading', config, progress: bar(event) }),
      });
      const prefix = (length: number) => {
        let cut = prefixes.get(length);
        if (cut === undefined) {
          cut = text.slice(0, prefixWithinTokens((t) => reader.countTokens(t), text, length).chars);
          prefixes.set(length, cut);
        }
        return cut;
      };
      return {
        encode: (length, { warmUp }) =>
          reader.loadDocument(prefix(length), {
            signal,
            onProgress: (progress) => report({ type: 'encoding', config, length, warmUp, progress }),
          }),
        async decode(maxTokens, { length, warmUp }) {
          if (warmUp || !plan.question || length !== longest || !answered.has(configKey(config))) return undefined;
          const answer: SpeedupAnswer = { config, text: '' };
          const stream = reader.ask(plan.question, { maxTokens, sampling: plan.sampling, signal });
          for (let step = await stream.next(); ; step = await stream.next()) {
            if (step.done) {
              report({ type: 'answer', answer: { ...answer, stats: step.value } });
              return step.value.decodeTokensPerSecond;
            }
            answer.text += step.value;
            report({ type: 'answer', answer: { ...answer } });
          }
        },
        close: () => reader.dispose(),
      };
    },
  };

  await runSpeedBench(
    subject,
    {
      lengths: plan.lengths,
      configs,
      repeats: 1,
      warmUp: plan.warmUp,
      decodeTokens: plan.question ? plan.maxTokens : 0,
      kernels: false,
    },
    { signal, onEvent: (event) => event.type === 'row' && report({ type: 'row', row: event.row }) },
  );
}
