// The settings panel's values, and how they split into engine options (reload) and per-question options.
import type { AskOptions, EngineSettings } from './session.ts';

export interface Settings {
  attention: 'star' | 'full';
  /** Undefined: auto (the planner picks from context length and hosts). */
  blockSize?: number;
  hosts: number;
  /** GPU memory the model may use, in GB (1e9 bytes); undefined: not checked. */
  memoryBudgetGb?: number;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  /** Undefined: a new random seed per answer. */
  seed?: number;
  maxTokens: number;
}

export const defaultSettings: Settings = {
  attention: 'star',
  hosts: 1,
  temperature: 0,
  topK: 40,
  topP: 0.95,
  repetitionPenalty: 1.1,
  maxTokens: 512,
};

export const maxHosts = 4;

export function engineSettings(s: Settings): EngineSettings {
  return {
    attention: s.attention,
    hosts: s.hosts,
    blockSize: s.blockSize,
    deviceMemoryBudget: s.memoryBudgetGb === undefined ? undefined : Math.round(s.memoryBudgetGb * 1e9),
  };
}

export function askOptions(s: Settings): AskOptions {
  return {
    maxTokens: s.maxTokens,
    sampling: {
      temperature: s.temperature,
      topK: s.topK,
      topP: s.topP,
      repetitionPenalty: s.repetitionPenalty,
      seed: s.seed,
    },
  };
}

export function sameEngine(a: EngineSettings, b: EngineSettings): boolean {
  return a.attention === b.attention && a.hosts === b.hosts && a.blockSize === b.blockSize && a.deviceMemoryBudget === b.deviceMemoryBudget;
}
