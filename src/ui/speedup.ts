// The speedup demo's measurement: phase 1 with full and with star attention over the same prefixes of one
// document, one engine configuration loaded at a time (only one model copy on the GPU beside the chat's).
import type {
  AnswerStats,
  AttentionMode,
  EncodeProgress,
  EncodeStats,
  LoadProgress,
  ModelLocation,
  SamplingOptions,
} from '../star/reader-api.ts';
import type { ReaderFactory } from './session.ts';
import { prefixWithinTokens } from './truncate.ts';

export interface SpeedupConfig {
  attention: AttentionMode;
  hosts: number;
}

export interface SpeedupPlan {
  /** Context lengths in tokens (prefixes of the document), measured in ascending order. */
  lengths: number[];
  /** Host counts to run star attention with; full attention runs once, on one host. */
  hosts: number[];
  blockSize?: number;
  /** Encodes the shortest prefix once, untimed, so shader compilation is not charged to the first row. */
  warmUp: boolean;
  /** Asked at the longest length with full attention and with the first star configuration. */
  question?: string;
  maxTokens: number;
  sampling: SamplingOptions;
}

export interface SpeedupRow {
  config: SpeedupConfig;
  length: number;
  stats: EncodeStats;
}

export interface SpeedupAnswer {
  config: SpeedupConfig;
  text: string;
  stats?: AnswerStats;
}

export type SpeedupEvent =
  | { type: 'loading'; config: SpeedupConfig; progress?: LoadProgress }
  | { type: 'encoding'; config: SpeedupConfig; length: number; warmUp: boolean; progress: EncodeProgress }
  | { type: 'row'; row: SpeedupRow }
  | { type: 'answer'; answer: SpeedupAnswer };

export const configLabel = (c: SpeedupConfig) =>
  c.attention === 'full' ? 'Full' : `Star${c.hosts > 1 ? ` × ${c.hosts} hosts` : ''}`;

export const configKey = (c: SpeedupConfig) => `${c.attention}:${c.hosts}`;

export function speedupConfigs(hosts: readonly number[]): SpeedupConfig[] {
  return [{ attention: 'full', hosts: 1 }, ...[...hosts].sort((a, b) => a - b).map((h) => ({ attention: 'star' as const, hosts: h }))];
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
  model: ModelLocation,
  text: string,
  plan: SpeedupPlan,
  signal: AbortSignal,
  report: (event: SpeedupEvent) => void,
): Promise<void> {
  const lengths = [...plan.lengths].sort((a, b) => a - b);
  const prefixes = new Map<number, string>();
  const configs = speedupConfigs(plan.hosts);
  const answered = new Set(configs.slice(0, 2).map(configKey));
  for (const config of configs) {
    signal.throwIfAborted();
    report({ type: 'loading', config });
    const reader = await createReader({
      model,
      attention: config.attention,
      hosts: config.hosts,
      blockSize: plan.blockSize,
      signal,
      onLoadProgress: (progress) => report({ type: 'loading', config, progress }),
    });
    try {
      const prefix = (length: number) => {
        let cut = prefixes.get(length);
        if (cut === undefined) {
          cut = text.slice(0, prefixWithinTokens((t) => reader.countTokens(t), text, length).chars);
          prefixes.set(length, cut);
        }
        return cut;
      };
      const encode = (length: number, warmUp: boolean) =>
        reader.loadDocument(prefix(length), {
          signal,
          onProgress: (progress) => report({ type: 'encoding', config, length, warmUp, progress }),
        });
      if (plan.warmUp && lengths.length > 0) await encode(lengths[0], true);
      for (const length of lengths) {
        const stats = await encode(length, false);
        report({ type: 'row', row: { config, length, stats } });
      }
      if (plan.question && answered.has(configKey(config))) {
        const answer: SpeedupAnswer = { config, text: '' };
        const stream = reader.ask(plan.question, { maxTokens: plan.maxTokens, sampling: plan.sampling, signal });
        for (let step = await stream.next(); ; step = await stream.next()) {
          if (step.done) {
            report({ type: 'answer', answer: { ...answer, stats: step.value } });
            break;
          }
          answer.text += step.value;
          report({ type: 'answer', answer: { ...answer } });
        }
      }
    } finally {
      await reader.dispose();
    }
  }
}
