// generation_config.json: which tokens end generation and how the model's authors sample it.

import type { SamplingOptions } from './sampling.ts';

export interface GenerationConfig {
  /** Every id that ends generation (Llama 3.1 lists <|end_of_text|>, <|eom_id|> and <|eot_id|>). */
  eosTokenIds: number[];
  bosTokenId?: number;
  padTokenId?: number;
  /** Sampling as transformers' generate() would do it by default: greedy unless do_sample is true. */
  sampling: SamplingOptions;
  maxNewTokens?: number;
}

export function parseGenerationConfig(json: unknown): GenerationConfig {
  const config = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  const id = (key: string) => {
    const value = config[key];
    return Number.isInteger(value) ? (value as number) : undefined;
  };
  const number = (key: string) => {
    const value = config[key];
    return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  };

  const eos = config.eos_token_id;
  const eosTokenIds = (Array.isArray(eos) ? eos : [eos]).filter((v): v is number => Number.isInteger(v));

  const sampling: SamplingOptions = {};
  if (config.do_sample === true) {
    // transformers' GenerationConfig defaults: temperature 1, top_k 50, top_p 1.
    sampling.temperature = number('temperature') ?? 1;
    sampling.topK = number('top_k') ?? 50;
    sampling.topP = number('top_p') ?? 1;
  } else {
    sampling.temperature = 0;
  }
  const repetitionPenalty = number('repetition_penalty');
  if (repetitionPenalty !== undefined) sampling.repetitionPenalty = repetitionPenalty;

  return {
    eosTokenIds: [...new Set(eosTokenIds)],
    bosTokenId: id('bos_token_id'),
    padTokenId: id('pad_token_id'),
    sampling,
    maxNewTokens: id('max_new_tokens'),
  };
}
