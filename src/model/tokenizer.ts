// Text to token ids and back, through @huggingface/tokenizers (tokenizer.json + tokenizer_config.json
// from the Hub), plus the incremental decoder that turns a stream of generated ids into printable text.

import { Tokenizer } from '@huggingface/tokenizers';

export interface TextTokenizer {
  /** One past the largest id the tokenizer knows (the model's embedding may be larger: Qwen pads it). */
  readonly vocabSize: number;
  readonly bosToken?: string;
  readonly bosTokenId?: number;
  readonly eosToken?: string;
  readonly eosTokenId?: number;
  /**
   * addSpecialTokens runs the tokenizer's post-processor (Llama 3 adds <|begin_of_text|>, Qwen adds
   * nothing). Text rendered by a chat template already holds its special tokens: encode it with false.
   */
  encode(text: string, options: { addSpecialTokens: boolean }): number[];
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  createStreamDecoder(options?: { skipSpecialTokens?: boolean }): StreamDecoder;
  tokenToId(token: string): number | undefined;
  isSpecial(id: number): boolean;
}

export interface StreamDecoder {
  /** Feeds one generated id; returns the text that became final with it (often '', never a partial character). */
  push(id: number): string;
  /** Returns whatever is still held back (an unfinished character decodes to U+FFFD). */
  flush(): string;
}

/** A special token's text from tokenizer_config.json, where it is a string or an AddedToken object. */
export function configToken(config: unknown, key: string): string | undefined {
  const value = isRecord(config) ? config[key] : undefined;
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value.content === 'string') return value.content;
  return undefined;
}

/** A tokenizer.json that cannot be loaded or used; the message says which part is at fault. */
export class TokenizerError extends Error {
  constructor(message: string) {
    super(`tokenizer.json: ${message}`);
    this.name = 'TokenizerError';
  }
}

export function createTokenizer(tokenizerJson: unknown, tokenizerConfig: unknown | undefined): TextTokenizer {
  if (!isRecord(tokenizerJson) || !isRecord(tokenizerJson.model)) {
    throw new TokenizerError('expected an object with a "model" entry');
  }
  const config = isRecord(tokenizerConfig) ? tokenizerConfig : {};
  const cleanUp = cleansUpSpaces(tokenizerJson.model, config);
  checkTokenIds(tokenizerJson);
  const tokenizer = loadTokenizer({ added_tokens: [], ...tokenizerJson }, { ...config, clean_up_tokenization_spaces: cleanUp });

  const special = new Set<number>();
  let vocabSize = 0;
  for (const [token, id] of tokenizer.get_vocab(true)) {
    if (token !== undefined) vocabSize = Math.max(vocabSize, id + 1);
  }
  for (const [id, token] of tokenizer.get_added_tokens_decoder()) if (token.special) special.add(id);

  const idOf = (key: string) => {
    const text = configToken(config, key);
    return text === undefined ? undefined : tokenizer.token_to_id(text);
  };

  const decode = (ids: readonly number[], skipSpecialTokens = false): string =>
    ids.length === 0
      ? ''
      : tokenizer.decode(ids as number[], {
          skip_special_tokens: skipSpecialTokens,
          clean_up_tokenization_spaces: cleanUp,
        });

  return {
    vocabSize,
    bosToken: configToken(config, 'bos_token'),
    bosTokenId: idOf('bos_token'),
    eosToken: configToken(config, 'eos_token'),
    eosTokenId: idOf('eos_token'),
    encode: (text, { addSpecialTokens }) => encodeChecked(tokenizer, text, addSpecialTokens),
    decode: (ids, options) => decode(ids, options?.skipSpecialTokens),
    createStreamDecoder: (options) =>
      createStreamDecoder((ids) => decode(ids, options?.skipSpecialTokens ?? true), cleanUp),
    tokenToId: (token) => tokenizer.token_to_id(token),
    isSpecial: (id) => special.has(id),
  };
}

/**
 * tokenizers.js builds an id-to-token array as long as the largest id: one absurd id (2^31) would take
 * minutes and gigabytes. Ids of real tokenizers are dense, so they must stay below twice the number
 * of tokens (plus room for gaps).
 */
function checkTokenIds(json: Record<string, unknown>): void {
  const vocab = (json.model as Record<string, unknown>).vocab;
  const vocabIds = isRecord(vocab) ? Object.entries(vocab) : [];
  const added = Array.isArray(json.added_tokens) ? json.added_tokens : [];
  const limit = 2 * (vocabIds.length + added.length) + 1024;
  const bad = (id: unknown) => !Number.isSafeInteger(id) || (id as number) < 0 || (id as number) >= limit;
  for (const [token, id] of vocabIds) {
    if (bad(id)) throw new TokenizerError(`its "model.vocab" gives ${JSON.stringify(token)} the id ${JSON.stringify(id)}, not a token id below ${limit}`);
  }
  for (const token of added) {
    if (isRecord(token) && bad(token.id)) {
      throw new TokenizerError(`its "added_tokens" give ${JSON.stringify(token.content)} the id ${JSON.stringify(token.id)}, not a token id below ${limit}`);
    }
  }
}

/** The parts of tokenizer.json that tokenizers.js builds besides the model, and what stands for "none". */
const OPTIONAL_PARTS: Record<string, unknown> = { added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null };
// Letters, digits, punctuation, whitespace, accents, CJK and an emoji: every tokenizer must take these.
const SAMPLE_TEXT = 'Hello, world! 123 café 中文 😀\n\t';

/**
 * tokenizers.js on a tokenizer.json, tried on a sample text: a file it cannot build or use fails here,
 * as a TokenizerError naming the part at fault (found by loading again without each part), not later
 * as a TypeError from inside the library.
 */
function loadTokenizer(json: Record<string, unknown>, config: Record<string, unknown>): Tokenizer {
  const loaded = tryLoad(json, config);
  if (loaded instanceof Tokenizer) return loaded;
  const culprit = Object.keys(OPTIONAL_PARTS).find(
    (part) => json[part] !== OPTIONAL_PARTS[part] && tryLoad({ ...json, [part]: OPTIONAL_PARTS[part] }, config) instanceof Tokenizer,
  );
  const part = culprit ?? (tryLoad({ ...json, ...OPTIONAL_PARTS }, config) instanceof Tokenizer ? 'several of its parts' : 'model');
  throw new TokenizerError(`tokenizers.js cannot use ${part.includes(' ') ? part : `its "${part}"`} (${loaded.message})`);
}

function tryLoad(json: Record<string, unknown>, config: Record<string, unknown>): Tokenizer | Error {
  try {
    const tokenizer = new Tokenizer(json, config);
    tokenizer.decode(encodeChecked(tokenizer, SAMPLE_TEXT, true));
    return tokenizer;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** Ids of `text`; a piece the vocabulary has no id for (and no unk_token to fall back on) is an error. */
function encodeChecked(tokenizer: Tokenizer, text: string, addSpecialTokens: boolean): number[] {
  const { ids, tokens } = tokenizer.encode(text, { add_special_tokens: addSpecialTokens });
  const missing = ids.findIndex((id) => !Number.isSafeInteger(id) || id < 0);
  if (missing >= 0) {
    throw new TokenizerError(`cannot encode ${JSON.stringify(tokens[missing])}: the vocabulary has no id for it and no "unk_token"`);
  }
  return ids;
}

/**
 * Whether decoding removes spaces before punctuation ("a ." to "a."), as transformers 5 decides: only
 * when tokenizer_config.json asks for it (tokenizers.js would by default), and never for a BPE model
 * (Llama 3, Qwen, SmolLM), where the spaces are real text, unless the config insists with
 * clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output.
 */
function cleansUpSpaces(model: Record<string, unknown>, config: Record<string, unknown>): boolean {
  if (config.clean_up_tokenization_spaces !== true) return false;
  // tokenizer.json files from before model.type existed tell a BPE model by its merges.
  const bpe = model.type === 'BPE' || (model.type === undefined && 'merges' in model);
  return !bpe || config.clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output === true;
}

// Cleanup rewrites " ." to "." and so on (tokenizers.js clean_up_tokenization); text ending in the
// start of such a pattern may still change when the next token arrives.
const CLEANUP_PATTERNS = [" .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's", " 've", " 're"];
// A UTF-8 character spans at most 4 byte-level tokens; past this many undecided tokens, give up waiting.
const MAX_WINDOW = 8;

/**
 * Decodes a sliding window of recent ids (decoders like Metaspace or byte-level need the previous token
 * as context) and emits only text that later tokens cannot change: a trailing U+FFFD is an unfinished
 * UTF-8 sequence, and with cleanup on, a trailing " " or " n'" may still lose its space. The pieces
 * concatenate to decode(all ids).
 */
function createStreamDecoder(decode: (ids: readonly number[]) => string, cleanUp: boolean): StreamDecoder {
  let window: number[] = [];
  let emitted = 0; // characters of decode(window) already returned

  const heldBack = (text: string): number => {
    let n = 0;
    while (n < text.length && text.charCodeAt(text.length - 1 - n) === 0xfffd) n++;
    if (n === 0 && cleanUp) {
      for (const pattern of CLEANUP_PATTERNS) {
        for (let k = Math.min(pattern.length - 1, text.length); k > n; k--) {
          if (text.endsWith(pattern.slice(0, k))) n = k;
        }
      }
    }
    return n;
  };

  return {
    push(id) {
      window.push(id);
      const text = decode(window);
      const end = window.length >= MAX_WINDOW ? text.length : text.length - heldBack(text);
      const piece = end > emitted ? text.slice(emitted, end) : '';
      emitted = Math.max(emitted, end);
      if (end === text.length) {
        window = [id];
        emitted = decode(window).length;
      }
      return piece;
    },
    flush() {
      const text = decode(window);
      const piece = text.slice(emitted);
      window = [];
      emitted = 0;
      return piece;
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
