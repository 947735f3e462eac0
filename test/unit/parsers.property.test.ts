// Property tests of the parsers that read what a user drops in or a server sends: safetensors headers
// and offsets, config.json, tokenizer.json and PDFs, each mutated at random from a valid file. Every
// case must load into something the engine can use or fail with the parser's own error and a message
// that names what is wrong; none may hang, crash, or read (allocate) more than the file holds.
// Each property prints how many cases ran.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensorsHeader, SafetensorsError } from '../../src/model/safetensors.ts';
import { ModelConfigError, parseModelConfig, type ModelConfig } from '../../src/model/config.ts';
import type { ModelFiles } from '../../src/model/source/model-files.ts';
import { createTokenizer, TokenizerError, type TextTokenizer } from '../../src/model/tokenizer.ts';
import { DocumentError, extractText } from '../../src/ui/documents/extract-text.ts';
import { makePdf } from '../support/make-pdf.ts';

type Outcome = 'loaded' | 'refused';

/** Cases each property ran, by outcome, printed at the end. */
const ran = new Map<string, Record<Outcome, number>>();
afterAll(() => {
  for (const [name, { loaded, refused }] of ran) console.log(`${name}: ${loaded + refused} cases, ${loaded} loaded, ${refused} refused`);
});

/** Runs `property` on `numRuns` random cases (a fixed seed: CI runs the same cases) and tallies outcomes. */
async function check<T>(name: string, arbitrary: fc.Arbitrary<T>, property: (value: T) => Promise<Outcome>, numRuns: number): Promise<void> {
  const outcomes: Record<Outcome, number> = { loaded: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      outcomes[await property(value)]++;
    }),
    { numRuns, seed: 20261201 },
  );
  ran.set(name, outcomes);
  // Both outcomes must occur, or the mutations are too mild (or too wild) to test anything.
  expect(outcomes.loaded).toBeGreaterThan(numRuns / 50);
  expect(outcomes.refused).toBeGreaterThan(numRuns / 50);
}

/** A message that names what is wrong, not JavaScript's view of a value it did not expect. */
function expectSpecific(message: string): void {
  expect(message).not.toMatch(/\bNaN\b|\bundefined\b|\[object Object\]|Cannot read propert|is not a function|is not iterable/);
}

/** Any JSON a mutation may put in a field, with the edge cases parsers trip on. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(-1, 0, 0.5, -0.5, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, 1e308, -1e308, '', '0', 'constructor', '__proto__', 'toString', null, true, [], {}),
);

// --- safetensors -------------------------------------------------------------------------------

const dtypes = ['F32', 'F16', 'BF16', 'I64', 'I32', 'U8', 'BOOL'] as const;
const dtypeBytes: Record<(typeof dtypes)[number], number> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1, BOOL: 1 };

/** A valid safetensors file of 1–4 small tensors. */
const validSafetensors = fc
  .array(
    fc.record({
      dtype: fc.constantFrom(...dtypes),
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((specs) => {
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let offset = 0;
    specs.forEach(({ dtype, shape }, i) => {
      const bytes = shape.reduce((a, b) => a * b, 1) * dtypeBytes[dtype];
      header[`t${i}`] = { dtype, shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
    });
    return joinSafetensors(header, new Uint8Array(offset).map((_, k) => k));
  });

function splitSafetensors(file: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const length = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + length))) as Record<string, unknown>;
  return { header, data: file.subarray(8 + length) };
}

function joinSafetensors(header: unknown, data: Uint8Array, headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

type FileMutation = (file: Uint8Array) => Uint8Array;
type HeaderMutation = (header: Record<string, unknown>) => unknown;

/** Tensor entry number `pick` (modulo their count) of a header, made an object if a mutation replaced it. */
function entryOf(header: Record<string, unknown>, pick: number): Record<string, unknown> {
  const names = Object.keys(header).filter((n) => n !== '__metadata__');
  if (names.length === 0) names.push('t0');
  const name = names[pick % names.length];
  const entry = header[name];
  if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) return entry as Record<string, unknown>;
  return (header[name] = {});
}

/** Mutations of the header's JSON: fields of an entry, its offsets, new entries, the metadata, all of it. */
const headerMutation: fc.Arbitrary<HeaderMutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.constantFrom('dtype', 'shape', 'data_offsets'), anyJson).map(([pick, field, value]) => (header: Record<string, unknown>) => {
    entryOf(header, pick)[field] = value;
    return header;
  }),
  fc.tuple(fc.nat(), fc.constantFrom('dtype', 'shape', 'data_offsets')).map(([pick, field]) => (header: Record<string, unknown>) => {
    delete entryOf(header, pick)[field];
    return header;
  }),
  fc.tuple(fc.nat(), fc.integer({ min: -64, max: 64 }), fc.integer({ min: -64, max: 64 })).map(([pick, shiftBegin, shiftEnd]) => (header: Record<string, unknown>) => {
    const entry = entryOf(header, pick);
    const [begin, end] = Array.isArray(entry.data_offsets) ? (entry.data_offsets as number[]) : [0, 0];
    entry.data_offsets = [begin + shiftBegin, end + shiftEnd];
    return header;
  }),
  fc.tuple(fc.oneof(fc.string(), fc.constantFrom('__metadata__', '__proto__', 'constructor', 't0')), anyJson).map(([name, value]) => (header: Record<string, unknown>) => {
    header[name] = value;
    return header;
  }),
  anyJson.map((value) => () => value),
);

/** A valid file with its header mutated (each mutation sees an object header) and then its bytes. */
function mutatedSafetensors(valid: Uint8Array, headerMutations: HeaderMutation[], bytes: FileMutation | null): Uint8Array {
  const { header, data } = splitSafetensors(valid);
  let mutated: unknown = header;
  for (const mutate of headerMutations) {
    const asObject = typeof mutated === 'object' && mutated !== null && !Array.isArray(mutated) ? (mutated as Record<string, unknown>) : {};
    mutated = mutate(asObject);
  }
  const file = joinSafetensors(mutated, data);
  return bytes ? bytes(file) : file;
}

/** Mutations of the bytes: the length prefix, truncation, garbage. */
const byteMutation: fc.Arbitrary<FileMutation> = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((length) => (file: Uint8Array) => {
    const out = file.slice();
    new DataView(out.buffer).setBigUint64(0, length, true);
    return out;
  }),
  fc.integer({ min: -16, max: 16 }).map((delta) => (file: Uint8Array) => {
    const out = file.slice();
    const view = new DataView(out.buffer);
    view.setBigUint64(0, BigInt(Math.max(0, Number(view.getBigUint64(0, true)) + delta)), true);
    return out;
  }),
  fc.double({ min: 0, max: 1, noNaN: true }).map((fraction) => (file: Uint8Array) => file.slice(0, Math.floor(file.length * fraction))),
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }).map((flips) => (file: Uint8Array) => {
    const out = file.slice();
    for (const [at, byte] of flips) out[at % out.length] = byte;
    return out;
  }),
);

/** A source over one in-memory file that refuses reads past its end (they would be unbounded allocations). */
function boundedSource(file: Uint8Array): ModelFiles {
  return {
    name: 'memory',
    readJson: async () => undefined,
    size: async () => file.length,
    read: async (_, offset, length) => {
      if (offset < 0 || length < 0 || offset + length > file.length) throw new Error(`read of ${length} bytes at ${offset} past a ${file.length}-byte file`);
      return file.slice(offset, offset + length);
    },
  };
}

function expectUsableHeader(header: Awaited<ReturnType<typeof readSafetensorsHeader>>, fileBytes: number): void {
  const ranges = [...header.tensors.values()].sort((a, b) => a.begin - b.begin);
  ranges.forEach((t, i) => {
    expect(Object.hasOwn(dtypeBytes, t.dtype) || ['F64', 'I16', 'I8', 'U64', 'U32', 'U16', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0'].includes(t.dtype)).toBe(true);
    expect(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)).toBe(true);
    expect(t.begin).toBeLessThanOrEqual(t.end);
    expect(t.end).toBeLessThanOrEqual(fileBytes);
    if (i > 0) expect(t.begin).toBeGreaterThanOrEqual(ranges[i - 1].end);
  });
  for (const value of Object.values(header.metadata)) expect(typeof value).toBe('string');
}

describe('safetensors headers under random mutation', () => {
  it('parse into tensors that lie inside the file, or fail with a SafetensorsError', async () => {
    const mutations = fc.tuple(validSafetensors, fc.array(headerMutation, { maxLength: 3 }), fc.option(byteMutation));
    await check('safetensors', mutations, async ([valid, headerMutations, bytes]) => {
      const file = mutatedSafetensors(valid, headerMutations, bytes);
      const parsed = await readSafetensorsHeader(boundedSource(file), 'model.safetensors').then(
        (header) => ({ header }),
        (error: unknown) => ({ error }),
      );
      if ('header' in parsed) {
        expectUsableHeader(parsed.header, file.length);
        return 'loaded';
      }
      expect(parsed.error).toBeInstanceOf(SafetensorsError);
      expectSpecific((parsed.error as Error).message);
      return 'refused';
    }, 3000);
  }, 60_000);
});

// --- config.json -------------------------------------------------------------------------------

const demoConfig = JSON.parse(readFileSync(new URL('../../public/models/demo/config.json', import.meta.url), 'utf8')) as Record<string, unknown>;
// The shapes of Llama 3.1 (legacy rope_scaling) and Qwen3 (transformers 5 rope_parameters) configs.
const llamaConfig = {
  model_type: 'llama', hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  vocab_size: 300, max_position_embeddings: 4096, rms_norm_eps: 1e-5, rope_theta: 500000, hidden_act: 'silu', tie_word_embeddings: false,
  rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  bos_token_id: 128000, eos_token_id: [128001, 128008, 128009],
};
const qwen3Config = {
  model_type: 'qwen3', hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  head_dim: 32, vocab_size: 300, max_position_embeddings: 4096, rms_norm_eps: 1e-6, hidden_act: 'silu', tie_word_embeddings: true,
  rope_parameters: { rope_type: 'yarn', rope_theta: 1000000, factor: 4, original_max_position_embeddings: 1024 }, use_sliding_window: false,
};

type JsonMutation = (json: Record<string, unknown>) => void;

/** Sets, deletes or replaces a field, at the top level or inside the rope settings. */
const configMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  fc.tuple(fc.nat(), anyJson).map(([pick, value]) => (json: Record<string, unknown>) => {
    const keys = Object.keys(json);
    json[keys[pick % keys.length]] = value;
  }),
  fc.nat().map((pick) => (json: Record<string, unknown>) => {
    const keys = Object.keys(json);
    delete json[keys[pick % keys.length]];
  }),
  fc.tuple(fc.constantFrom('rope_scaling', 'rope_parameters'), fc.constantFrom('rope_type', 'type', 'factor', 'rope_theta', 'low_freq_factor', 'original_max_position_embeddings', 'beta_fast', 'full_attention'), anyJson).map(
    ([where, key, value]) => (json: Record<string, unknown>) => {
      const rope = typeof json[where] === 'object' && json[where] !== null ? (json[where] as Record<string, unknown>) : (json[where] = {});
      (rope as Record<string, unknown>)[key] = value;
    },
  ),
  fc.tuple(fc.constantFrom('head_dim', 'partial_rotary_factor', 'layer_types', 'sliding_window', 'attention_bias', 'mlp_bias'), anyJson).map(
    ([key, value]) => (json: Record<string, unknown>) => {
      json[key] = value;
    },
  ),
);

function expectUsableConfig(c: ModelConfig): void {
  const sizes = { hidden: c.hidden, layers: c.layers, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, intermediate: c.intermediate, vocab: c.vocab, maxPositions: c.maxPositionEmbeddings };
  for (const [name, n] of Object.entries(sizes)) expect(Number.isSafeInteger(n) && n > 0, `${name} ${n}`).toBe(true);
  expect(c.heads % c.kvHeads).toBe(0);
  expect(c.headDim % 2).toBe(0);
  expect(c.rmsNormEps > 0 && Number.isFinite(c.rmsNormEps), `rms_norm_eps ${c.rmsNormEps}`).toBe(true);
  expect(c.rope.theta > 0 && Number.isFinite(c.rope.theta), `rope theta ${c.rope.theta}`).toBe(true);
  const factor = c.rope.scaling?.factor ?? 1;
  expect(factor > 0 && Number.isFinite(factor), `rope factor ${factor}`).toBe(true);
  for (const id of [...c.eosTokenIds, c.bosTokenId ?? 0]) expect(Number.isSafeInteger(id) && id >= 0, `token id ${id}`).toBe(true);
}

describe('config.json under random mutation', () => {
  it('parses into usable numbers or fails with a ModelConfigError', async () => {
    const base = fc.constantFrom<Record<string, unknown>>(demoConfig, llamaConfig, qwen3Config);
    await check('config.json', fc.tuple(base, fc.array(configMutation, { minLength: 1, maxLength: 4 })), async ([config, mutations]) => {
      const json = structuredClone(config);
      for (const mutate of mutations) mutate(json);
      let parsed: ModelConfig;
      try {
        parsed = parseModelConfig(json);
      } catch (error) {
        expect(error).toBeInstanceOf(ModelConfigError);
        expectSpecific((error as Error).message);
        return 'refused';
      }
      expectUsableConfig(parsed);
      return 'loaded';
    }, 3000);
  }, 60_000);
});

// --- tokenizer.json ----------------------------------------------------------------------------

const readJson = (url: URL) => JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>;
const tokenizers = [
  { json: readJson(new URL('../../public/models/demo/tokenizer.json', import.meta.url)), config: readJson(new URL('../../public/models/demo/tokenizer_config.json', import.meta.url)) },
  { json: readJson(new URL('../fixtures/text/llama3-style.tokenizer.json', import.meta.url)), config: { bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>' } },
  { json: readJson(new URL('../fixtures/text/qwen2-style.tokenizer.json', import.meta.url)), config: { eos_token: '<|im_end|>' } },
];
const parts = ['model', 'added_tokens', 'normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const;

/** An object somewhere in `json` along `path` (made one if a mutation put something else there). */
function objectAt(json: Record<string, unknown>, path: readonly string[]): Record<string, unknown> {
  let at = json;
  for (const key of path) {
    const next = at[key];
    at = typeof next === 'object' && next !== null && !Array.isArray(next) ? (next as Record<string, unknown>) : (at[key] = {});
  }
  return at;
}

/** Replaces or deletes a part, a field of the model or a component, a vocab entry, a merge, an added token's field. */
const tokenizerMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  fc.tuple(fc.constantFrom(...parts), anyJson).map(([part, value]) => (json: Record<string, unknown>) => {
    json[part] = value;
  }),
  fc.constantFrom(...parts).map((part) => (json: Record<string, unknown>) => {
    delete json[part];
  }),
  fc.tuple(fc.constantFrom('model', 'normalizer', 'pre_tokenizer', 'post_processor', 'decoder'), fc.constantFrom('type', 'vocab', 'merges', 'unk_token', 'byte_fallback', 'ignore_merges', 'pretokenizers', 'decoders', 'add_prefix_space', 'single'), anyJson).map(
    ([part, field, value]) => (json: Record<string, unknown>) => {
      objectAt(json, [part])[field] = value;
    },
  ),
  fc.tuple(fc.nat(), fc.oneof(anyJson, fc.string())).map(([pick, value]) => (json: Record<string, unknown>) => {
    const vocab = objectAt(json, ['model', 'vocab']);
    const tokens = Object.keys(vocab);
    if (tokens.length) vocab[tokens[pick % tokens.length]] = value;
  }),
  fc.tuple(fc.nat(), anyJson).map(([pick, value]) => (json: Record<string, unknown>) => {
    const model = objectAt(json, ['model']);
    if (Array.isArray(model.merges) && model.merges.length) model.merges[pick % model.merges.length] = value;
  }),
  fc.tuple(fc.nat(), fc.constantFrom('id', 'content', 'special', 'normalized'), anyJson).map(([pick, field, value]) => (json: Record<string, unknown>) => {
    if (Array.isArray(json.added_tokens) && json.added_tokens.length) {
      const token = json.added_tokens[pick % json.added_tokens.length];
      if (typeof token === 'object' && token !== null) (token as Record<string, unknown>)[field] = value;
    }
  }),
);

/** What the reader does with a tokenizer: encode text (ids within its vocabulary), decode and stream. */
function expectUsableTokenizer(t: TextTokenizer, text: string): void {
  const ids = t.encode(text, { addSpecialTokens: true });
  for (const id of ids) expect(Number.isSafeInteger(id) && id >= 0 && id < t.vocabSize, `id ${id} of ${t.vocabSize}`).toBe(true);
  expect(typeof t.decode(ids)).toBe('string');
  const stream = t.createStreamDecoder();
  for (const id of ids) stream.push(id);
  stream.flush();
}

describe('tokenizer.json under random mutation', () => {
  it('loads a tokenizer that encodes and decodes, or fails with a TokenizerError naming the part', async () => {
    const sample = fc.oneof(fc.constant('Hello, world! 123 café 中文 😀\n\t<|im_end|>'), fc.string({ unit: 'grapheme', maxLength: 40 }));
    const mutations = fc.tuple(fc.constantFrom(...tokenizers), fc.array(tokenizerMutation, { maxLength: 3 }), sample);
    await check('tokenizer.json', mutations, async ([{ json: base, config }, mutationsToApply, text]) => {
      const json = structuredClone(base);
      for (const mutate of mutationsToApply) mutate(json);
      let tokenizer: TextTokenizer;
      try {
        tokenizer = createTokenizer(json, config);
        expectUsableTokenizer(tokenizer, text);
      } catch (error) {
        expect(error).toBeInstanceOf(TokenizerError);
        expect((error as Error).message).toMatch(
          /^tokenizer\.json: (tokenizers\.js cannot use (its "[a-z_]+"|several of its parts)|its "(model\.vocab|added_tokens)" give|cannot encode|expected an object)/,
        );
        return 'refused';
      }
      return 'loaded';
    }, 1000);
  }, 120_000);
});

// --- PDF ---------------------------------------------------------------------------------------

const validPdf = fc
  .array(fc.array(fc.stringMatching(/^[A-Za-z0-9 ,.()]{1,30}$/), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 })
  .map((pages) => makePdf(pages));

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
const fromLatin1 = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));

/** Truncation, garbage, and edits of the numbers a PDF reader trusts: lengths, counts, offsets. */
const pdfMutation: fc.Arbitrary<FileMutation> = fc.oneof(
  fc.double({ min: 0, max: 1, noNaN: true }).map((fraction) => (pdf: Uint8Array) => pdf.slice(0, Math.floor(pdf.length * fraction))),
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 }).map((flips) => (pdf: Uint8Array) => {
    const out = pdf.slice();
    for (const [at, byte] of flips) out[at % out.length] = byte;
    return out;
  }),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([at, garbage]) => (pdf: Uint8Array) => {
    const cut = at % (pdf.length + 1);
    return new Uint8Array([...pdf.subarray(0, cut), ...garbage, ...pdf.subarray(cut)]);
  }),
  fc.tuple(fc.constantFrom('/Length ', '/Count ', '/Size ', 'startxref\n', ' 0 R'), fc.constantFrom('0', '-1', '7', '99999', '2147483647', '1e9', 'x')).map(
    ([key, value]) => (pdf: Uint8Array) => {
      const text = latin1(pdf);
      const at = text.indexOf(key);
      if (at < 0) return pdf;
      const numberAt = key === ' 0 R' ? text.lastIndexOf(' ', at - 1) + 1 : at + key.length;
      const end = key === ' 0 R' ? at : numberAt + (/^-?\d+/.exec(text.slice(numberAt))?.[0].length ?? 0);
      return fromLatin1(text.slice(0, numberAt) + value + text.slice(end));
    },
  ),
);

/** Settles within `ms` or fails the case as a hang. */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([work, hang]).finally(() => clearTimeout(timer));
}

describe('PDFs, truncated and garbled at random', () => {
  it('give their text or a DocumentError naming the file, within seconds', async () => {
    await check('PDF', fc.tuple(validPdf, fc.array(pdfMutation, { maxLength: 2 })), async ([valid, mutations]) => {
      const pdf = mutations.reduce<Uint8Array>((bytes, mutate) => mutate(bytes), valid);
      try {
        const doc = await within(5000, extractText(new File([pdf.slice()], 'mutated.pdf')));
        expect(doc.text.trim().length).toBeGreaterThan(0);
        expect(doc.pages).toBeGreaterThan(0);
        return 'loaded';
      } catch (error) {
        expect(error).toBeInstanceOf(DocumentError);
        expect((error as Error).message).toMatch(/^mutated\.pdf: /);
        expectSpecific((error as Error).message);
        return 'refused';
      }
    }, 500);
  }, 300_000);
});
