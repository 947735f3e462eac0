// The settings panel's values kept between visits: saved as JSON, read back field by field.
import { describe, expect, it } from 'vitest';
import { defaultSettings, loadSettings, saveSettings, settingsKey, type Settings } from '../../src/ui/settings.ts';

function memoryStorage(initial?: string) {
  const items = new Map<string, string>(initial === undefined ? [] : [[settingsKey, initial]]);
  return { getItem: (key: string) => items.get(key) ?? null, setItem: (key: string, value: string) => void items.set(key, value), items };
}

describe('saved settings', () => {
  it('round-trips every field, "auto" and "not set" included', () => {
    const storage = memoryStorage();
    const chosen: Settings = { attention: 'full', blockSize: 4096, hosts: 3, memoryBudgetGb: 6.5, temperature: 0.7, topK: 20, topP: 0.8, repetitionPenalty: 1.05, seed: 42, maxTokens: 256 };
    saveSettings(storage, chosen);
    expect(loadSettings(storage)).toEqual(chosen);
    const auto = { ...chosen, blockSize: undefined, memoryBudgetGb: undefined, seed: undefined };
    saveSettings(storage, auto);
    expect(JSON.parse(storage.items.get(settingsKey)!)).toMatchObject({ blockSize: null, memoryBudgetGb: null, seed: null });
    expect(loadSettings(storage)).toEqual({ ...defaultSettings, ...auto });
  });

  it('keeps the default for each field that is missing, of the wrong type or out of range', () => {
    const saved = { attention: 'ring', hosts: 99, temperature: '0.5', topK: 2.5, topP: 0.5, maxTokens: 0, blockSize: -1 };
    expect(loadSettings(memoryStorage(JSON.stringify(saved)))).toEqual({ ...defaultSettings, topP: 0.5 });
  });

  it('falls back to the defaults on no storage, nothing saved, or a damaged entry', () => {
    expect(loadSettings(undefined)).toEqual(defaultSettings);
    expect(loadSettings(memoryStorage())).toEqual(defaultSettings);
    expect(loadSettings(memoryStorage('{"attention": "full"'))).toEqual(defaultSettings);
    expect(loadSettings(memoryStorage('[1, 2]'))).toEqual(defaultSettings);
  });

  it('a storage that refuses to write loses only the saving', () => {
    const full = { setItem: () => { throw new DOMException('quota', 'QuotaExceededError'); } };
    expect(() => saveSettings(full, defaultSettings)).not.toThrow();
  });
});
