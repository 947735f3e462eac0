// The settings panel's values, and how they split into engine options (reload) and per-question options.
import type { AskOptions } from '../star/reader-api.ts';
import type { EngineSettings } from './session.ts';

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

/** Where the app keeps the settings between visits (localStorage). */
export const settingsKey = 'star-reader:settings';

type Field = { min: number; max: number; integer?: boolean };
const numericFields: Record<Exclude<keyof Settings, 'attention'>, Field> = {
  blockSize: { min: 16, max: 1 << 20, integer: true },
  hosts: { min: 1, max: maxHosts, integer: true },
  memoryBudgetGb: { min: 0.001, max: 1024 },
  temperature: { min: 0, max: 2 },
  topK: { min: 0, max: 1000, integer: true },
  topP: { min: 0, max: 1 },
  repetitionPenalty: { min: 1, max: 2 },
  seed: { min: 0, max: 2 ** 32 - 1, integer: true },
  maxTokens: { min: 1, max: 8192, integer: true },
};

/**
 * The settings saved by an earlier visit, each field checked: one that is missing, of the wrong type or
 * out of range keeps its default, so an old or damaged entry never breaks the app.
 */
export function loadSettings(storage: Pick<Storage, 'getItem'> | undefined): Settings {
  let saved: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(storage?.getItem(settingsKey) ?? 'null');
    if (typeof parsed !== 'object' || parsed === null) return defaultSettings;
    saved = parsed as Record<string, unknown>;
  } catch {
    return defaultSettings;
  }
  const settings: Settings = { ...defaultSettings };
  if (saved.attention === 'star' || saved.attention === 'full') settings.attention = saved.attention;
  for (const [name, field] of Object.entries(numericFields) as [keyof typeof numericFields, Field][]) {
    const value = saved[name];
    const valid = typeof value === 'number' && value >= field.min && value <= field.max && (!field.integer || Number.isInteger(value));
    // Anything else (null for "auto" / "not set" among them) keeps the default; the optional fields' is unset.
    if (valid) settings[name] = value;
  }
  return settings;
}

/** Keeps the settings for the next visit; a full or forbidden storage only loses that. */
export function saveSettings(storage: Pick<Storage, 'setItem'> | undefined, settings: Settings): void {
  try {
    // null, not undefined, so that "auto" and "not set" survive JSON.
    storage?.setItem(settingsKey, JSON.stringify(settings, (_, value: unknown) => (value === undefined ? null : value)));
  } catch {
    // Private browsing or a full quota: the settings just are not remembered.
  }
}

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
