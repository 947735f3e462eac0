import { describe, expect, it } from 'vitest';
import { parseGenerationConfig } from '../../src/model/generation-config.ts';

describe('parseGenerationConfig', () => {
  it('Llama 3.1 Instruct: several eos ids, sampling with transformers defaults filled in', () => {
    const config = parseGenerationConfig({
      bos_token_id: 128000,
      do_sample: true,
      eos_token_id: [128001, 128008, 128009],
      temperature: 0.6,
      top_p: 0.9,
      transformers_version: '4.42.3',
    });
    expect(config).toEqual({
      eosTokenIds: [128001, 128008, 128009],
      bosTokenId: 128000,
      padTokenId: undefined,
      sampling: { temperature: 0.6, topK: 50, topP: 0.9 },
      maxNewTokens: undefined,
    });
  });

  it('Qwen2.5 Instruct: top_k, repetition penalty and pad id', () => {
    const config = parseGenerationConfig({
      bos_token_id: 151643,
      pad_token_id: 151643,
      do_sample: true,
      eos_token_id: [151645, 151643],
      repetition_penalty: 1.1,
      temperature: 0.7,
      top_p: 0.8,
      top_k: 20,
    });
    expect(config.eosTokenIds).toEqual([151645, 151643]);
    expect(config.padTokenId).toBe(151643);
    expect(config.sampling).toEqual({ temperature: 0.7, topK: 20, topP: 0.8, repetitionPenalty: 1.1 });
  });

  it('without do_sample generation is greedy, like transformers', () => {
    const config = parseGenerationConfig({ bos_token_id: 1, eos_token_id: 2, temperature: 0.2, max_new_tokens: 256 });
    expect(config.eosTokenIds).toEqual([2]);
    expect(config.sampling).toEqual({ temperature: 0 });
    expect(config.maxNewTokens).toBe(256);
  });

  it('tolerates a missing or malformed file', () => {
    for (const json of [undefined, null, 'x', {}, { eos_token_id: 'two', temperature: 'hot' }]) {
      const config = parseGenerationConfig(json);
      expect(config.eosTokenIds).toEqual([]);
      expect(config.sampling).toEqual({ temperature: 0 });
    }
    expect(parseGenerationConfig({ eos_token_id: [2, 2, null] }).eosTokenIds).toEqual([2]);
  });
});
