import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configToken, createTokenizer, TokenizerError, type TextTokenizer } from '../../src/model/tokenizer.ts';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/text/${name}`, import.meta.url), 'utf8')) as unknown;

// Ids in the fixtures: bytes are 0–255; merges are 256+ in order (see test/fixtures/text/README.md).
const HELLO = 259;
const SPACE_WORLD = 264;
const SPACE_IN = 269;
const SPACE_THE = 267;
const NEWLINES = 270;
const EMOJI_HEAD = 272; // F0 9F
const EMOJI_TAIL = 273; // 98 80
const HAN_HEAD = 274; // E4 B8, 中 is E4 B8 AD
const E_ACUTE = 275;

function llama(config: Record<string, unknown> = {}): TextTokenizer {
  return createTokenizer(fixture('llama3-style.tokenizer.json'), {
    bos_token: '<|begin_of_text|>',
    eos_token: '<|eot_id|>',
    ...config,
  });
}

/** transformers' switch that cleans up BPE output anyway. */
const FORCED_BPE_CLEANUP = {
  clean_up_tokenization_spaces: true,
  clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output: true,
};

/** A three-piece SentencePiece-style Unigram model: "a . b" is ▁a ▁. ▁b (ids 1, 2, 3). */
function unigram(config: Record<string, unknown>): TextTokenizer {
  const metaspace = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true };
  const unk = { id: 0, content: '<unk>', special: true, single_word: false, lstrip: false, rstrip: false, normalized: false };
  return createTokenizer(
    {
      added_tokens: [unk],
      normalizer: null,
      post_processor: null,
      pre_tokenizer: metaspace,
      decoder: metaspace,
      model: { type: 'Unigram', unk_id: 0, vocab: [['<unk>', 0], ['\u2581a', -1], ['\u2581.', -1], ['\u2581b', -1], ['\u2581', -2]] },
    },
    config,
  );
}

function qwen(): TextTokenizer {
  return createTokenizer(fixture('qwen2-style.tokenizer.json'), {
    bos_token: null,
    eos_token: { content: '<|im_end|>', special: true, __type: 'AddedToken' },
  });
}

function streamed(t: TextTokenizer, ids: number[], skipSpecialTokens = true): string[] {
  const decoder = t.createStreamDecoder({ skipSpecialTokens });
  const pieces = ids.map((id) => decoder.push(id));
  pieces.push(decoder.flush());
  return pieces;
}

describe('createTokenizer: byte-level BPE like Llama 3', () => {
  it('encodes with merges, adding BOS only when asked', () => {
    const t = llama();
    expect(t.encode('Hello world', { addSpecialTokens: false })).toEqual([HELLO, SPACE_WORLD]);
    expect(t.encode('Hello world', { addSpecialTokens: true })).toEqual([t.bosTokenId, HELLO, SPACE_WORLD]);
    expect(t.encode('', { addSpecialTokens: false })).toEqual([]);
  });

  it('reads special tokens and their ids from tokenizer_config.json', () => {
    const t = llama();
    expect(t.vocabSize).toBe(281);
    expect(t.bosToken).toBe('<|begin_of_text|>');
    expect(t.bosTokenId).toBe(276);
    expect(t.eosToken).toBe('<|eot_id|>');
    expect(t.eosTokenId).toBe(280);
    expect(t.tokenToId('<|start_header_id|>')).toBe(278);
    expect(t.isSpecial(280)).toBe(true);
    expect(t.isSpecial(HELLO)).toBe(false);
  });

  it('splits special tokens out of text and skips them on request', () => {
    const t = llama();
    const text = '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>';
    const ids = t.encode(text, { addSpecialTokens: false });
    expect(ids).toEqual([278, 117, 115, 101, 114, 279, NEWLINES, 72, 105, 280]);
    expect(t.decode(ids)).toBe(text);
    expect(t.decode(ids, { skipSpecialTokens: true })).toBe('user\n\nHi');
  });

  it('round-trips text with emoji, CJK, accents, tabs and runs of spaces', () => {
    const t = llama();
    const text = "Hello world in the 😀 中文 café\n\n\ttabs   and  spaces ‘quotes’ 1234567 l'été";
    const ids = t.encode(text, { addSpecialTokens: false });
    expect(ids).toContain(EMOJI_HEAD);
    expect(ids).toContain(EMOJI_TAIL);
    expect(ids).toContain(HAN_HEAD);
    expect(ids).toContain(E_ACUTE);
    expect(t.decode(ids)).toBe(text);
  });

  it('keeps spaces before punctuation even when the config asks for cleanup, as transformers 5 does for BPE', () => {
    const ids = llama().encode('a . b', { addSpecialTokens: false });
    expect(llama().decode(ids)).toBe('a . b');
    // Llama 3.x's tokenizer_config.json says clean_up_tokenization_spaces: true.
    expect(llama({ clean_up_tokenization_spaces: true }).decode(ids)).toBe('a . b');
    expect(llama({ clean_up_tokenization_spaces: true }).decode(llama().encode('print(x) ; y = "a , b"', { addSpecialTokens: false }))).toBe(
      'print(x) ; y = "a , b"',
    );
    expect(llama(FORCED_BPE_CLEANUP).decode(ids)).toBe('a. b');
  });

  it('decodes an empty list to an empty string', () => {
    expect(llama().decode([])).toBe('');
  });
});

describe('createTokenizer: other models than BPE', () => {
  it('clean up spaces before punctuation only when the config asks for it', () => {
    expect(unigram({}).encode('a . b', { addSpecialTokens: false })).toEqual([1, 2, 3]);
    expect(unigram({}).decode([1, 2, 3])).toBe('a . b');
    expect(unigram({ clean_up_tokenization_spaces: true }).decode([1, 2, 3])).toBe('a. b');
  });

  it('stream the cleaned-up text piece by piece', () => {
    const t = unigram({ clean_up_tokenization_spaces: true });
    const ids = t.encode('a . b . a b .', { addSpecialTokens: false });
    expect(streamed(t, ids).join('')).toBe('a. b. a b.');
  });
});

describe('createTokenizer: Qwen2 style', () => {
  it('adds no BOS, reads an AddedToken-object eos, NFC-normalises', () => {
    const t = qwen();
    expect(t.bosTokenId).toBeUndefined();
    expect(t.eosTokenId).toBe(278);
    expect(t.encode('Hello world', { addSpecialTokens: true })).toEqual([HELLO, SPACE_WORLD]);
    // e + combining acute (NFD) becomes é (one merged token) after NFC.
    expect(t.encode('cafe\u0301', { addSpecialTokens: false })).toEqual([99, 97, 102, E_ACUTE]);
  });

  it('encodes chat markup with its special tokens', () => {
    const t = qwen();
    const ids = t.encode('<|im_start|>user\nHi<|im_end|>\n', { addSpecialTokens: false });
    expect(ids).toEqual([277, 117, 115, 101, 114, 10, 72, 105, 278, 10]);
  });
});

describe('stream decoder', () => {
  it('holds back partial UTF-8 until the character is complete', () => {
    const t = llama();
    const ids = t.encode('A😀中é', { addSpecialTokens: false });
    expect(ids).toEqual([65, EMOJI_HEAD, EMOJI_TAIL, HAN_HEAD, 173, E_ACUTE]);
    expect(streamed(t, ids)).toEqual(['A', '', '😀', '', '中', 'é', '']);
  });

  it('never emits U+FFFD for characters split across tokens', () => {
    const t = llama();
    const text = '😀😀 中中 x😀y 中';
    const pieces = streamed(t, t.encode(text, { addSpecialTokens: false }));
    expect(pieces.join('')).toBe(text);
    for (const piece of pieces) expect(piece).not.toContain('\ufffd');
  });

  it('concatenates to decode() of the whole sequence', () => {
    for (const t of [llama(), llama({ clean_up_tokenization_spaces: true }), llama(FORCED_BPE_CLEANUP), qwen()]) {
      for (const text of [
        'Hello world, in the end.',
        "a . b ? c ! d , e ' f n't g 's h 've i 're j 'm",
        'multi   spaces\n\n\nand\ttabs 😀 中文',
        'trailing space ',
      ]) {
        const ids = t.encode(text, { addSpecialTokens: false });
        expect(streamed(t, ids).join('')).toBe(t.decode(ids));
      }
    }
  });

  it('emits text as soon as it is final', () => {
    const t = llama();
    expect(streamed(t, [HELLO, SPACE_WORLD, SPACE_IN, SPACE_THE])).toEqual(['Hello', ' world', ' in', ' the', '']);
  });

  it('with cleanup on, holds a trailing space until the next token decides it', () => {
    const t = llama(FORCED_BPE_CLEANUP);
    // "a", " ", "." : cleanup turns "a ." into "a."
    expect(streamed(t, [97, 32, 46])).toEqual(['a', '', '.', '']);
    expect(streamed(t, [97, 32, 98])).toEqual(['a', '', ' b', '']);
  });

  it('skips special tokens by default and keeps them on request', () => {
    const t = llama();
    const ids = [HELLO, 280, SPACE_WORLD];
    expect(streamed(t, ids).join('')).toBe('Hello world');
    expect(streamed(t, ids, false).join('')).toBe('Hello<|eot_id|> world');
  });

  it('flushes an unfinished character as U+FFFD', () => {
    const t = llama();
    expect(streamed(t, [65, EMOJI_HEAD])).toEqual(['A', '', '\ufffd']);
  });
});

describe('configToken', () => {
  it('reads strings and AddedToken objects', () => {
    expect(configToken({ eos_token: '</s>' }, 'eos_token')).toBe('</s>');
    expect(configToken({ eos_token: { content: '</s>' } }, 'eos_token')).toBe('</s>');
    expect(configToken({ bos_token: null }, 'bos_token')).toBeUndefined();
    expect(configToken(undefined, 'bos_token')).toBeUndefined();
  });
});

describe('createTokenizer: damaged tokenizer.json (found by test/unit/parsers.property.test.ts)', () => {
  const json = () => structuredClone(fixture('llama3-style.tokenizer.json')) as Record<string, Record<string, unknown>>;

  it('refuses an absurd token id before tokenizers.js allocates an array that long', () => {
    const broken = json();
    (broken.model.vocab as Record<string, number>)['*'] = 2 ** 31;
    const started = performance.now();
    expect(() => createTokenizer(broken, {})).toThrow(new TokenizerError('its "model.vocab" gives "*" the id 2147483648, not a token id below 1586'));
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('names the part tokenizers.js cannot use', () => {
    const broken = json();
    broken.decoder = { type: 'NoSuchDecoder' };
    expect(() => createTokenizer(broken, {})).toThrow(/^tokenizer\.json: tokenizers\.js cannot use its "decoder" \(Unknown Decoder type: NoSuchDecoder\)$/);
  });
});
