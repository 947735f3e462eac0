// Writes public/models/demo/: the embedded default model that lets `npm start` work offline.
//
// It is not trained, and the app says so. Its tokenizer is a real byte-level BPE (Qwen2's
// pre-tokenizer; 2,048 tokens learned here from Star Reader's own English prose, no third-party
// text), so the GPL-3 (35,149 characters) is about 15,000 tokens, well inside the 32K window. Its
// weights are built by hand, not random, as a two-layer "induction" circuit: layer 0 attends to the
// previous position (RoPE's fast pairs) and writes that token's embedding beside the current one;
// layer 1 looks for earlier positions whose previous token is the current token (RoPE's slow pairs,
// which barely turn across the window) and copies the token found there; the tied embedding turns
// the copy into the next token. So it answers by quoting the document, walking its own word pairs:
// readable text that is visibly not an answer, and never a run of one repeated letter. No MLP.
// Run: npm run demo-model
import { mkdir, writeFile } from 'node:fs/promises';
import { encodeSafetensors, type TensorToWrite } from '../src/model/safetensors-writer.ts';
import { f32ToF16Bits } from '../src/model/dtype.ts';
import { uniformStream } from '../src/model/synthetic-weights.ts';
import { ropeInverseFrequencies } from '../src/model/rope-frequencies.ts';
import { essaySentences } from '../src/eval/ruler/filler-essay.ts';
import { ALL_WORDS } from '../src/eval/ruler/words.ts';

const out = new URL('../public/models/demo/', import.meta.url);
const shape = { hidden: 128, intermediate: 128, layers: 2, heads: 1, kvHeads: 1, headDim: 128, vocab: 2048 };
const specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];
const firstMergeId = 256 + specials.length;
/** The embedding lives in dimensions 0–63; layer 0 writes the previous token's into 64–127. */
const embeddingDims = shape.hidden / 2;
const contextWindow = 32768;
/** Slow enough that 37 of the 64 RoPE pairs turn less than 0.3 rad across the window. */
const ropeTheta = 1e12;

/** GPT-2's byte-to-character map used by byte-level BPE. */
function byteCharacters(): string[] {
  const printable = [...range(33, 127), ...range(161, 173), ...range(174, 256)];
  const chars: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) chars[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  return chars;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

// Qwen2's split regex (tokenizer.json below), with its (?i:…) spelled out for JavaScript.
const qwenSplit = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const jsSplit = new RegExp(String.raw`'(?:[sStTmMdD]|[rR][eE]|[vV][eE]|[lL][lL])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`, 'gu');

/** The English the merges are learned from: Star Reader's own essay prose and word lists (no third-party text). */
function trainingText(): string {
  return [...essaySentences(4000, 'demo-tokenizer'), ALL_WORDS.join(' ')].join(' ');
}

/** Byte-level BPE training: the most frequent adjacent pair becomes a token, `count` times (ties by text, for a stable result). */
function learnMerges(text: string, count: number): [string, string][] {
  const chars = byteCharacters();
  const encoder = new TextEncoder();
  const frequency = new Map<string, number>();
  for (const piece of text.match(jsSplit) ?? []) {
    const word = Array.from(encoder.encode(piece), (b) => chars[b]).join('\u0000');
    frequency.set(word, (frequency.get(word) ?? 0) + 1);
  }
  const words = [...frequency].map(([word, n]) => ({ symbols: word.split('\u0000'), n }));
  const merges: [string, string][] = [];
  while (merges.length < count) {
    const pairs = new Map<string, number>();
    for (const { symbols, n } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]}\u0000${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + n);
      }
    }
    let best: string | undefined;
    let bestCount = 0;
    for (const [key, n] of pairs) if (n > bestCount || (n === bestCount && best !== undefined && key < best)) [best, bestCount] = [key, n];
    if (best === undefined) break;
    const [left, right] = best.split('\u0000') as [string, string];
    merges.push([left, right]);
    for (const word of words) {
      const merged: string[] = [];
      for (let i = 0; i < word.symbols.length; i++) {
        if (i + 1 < word.symbols.length && word.symbols[i] === left && word.symbols[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else merged.push(word.symbols[i]);
      }
      word.symbols = merged;
    }
  }
  return merges;
}

function tokenizerJson(merges: [string, string][]) {
  const vocab: Record<string, number> = {};
  byteCharacters().forEach((c, i) => (vocab[c] = i));
  merges.forEach(([a, b], i) => (vocab[a + b] = firstMergeId + i));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, i) => ({ id: 256 + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [{ type: 'Split', pattern: { Regex: qwenSplit }, behavior: 'Isolated', invert: false }, byteLevel],
    },
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

type F16Tensor = TensorToWrite & { dtype: 'F16' };

function f16(dims: number[], values: Float32Array): F16Tensor {
  return { dtype: 'F16', shape: dims, data: f32ToF16Bits(values) };
}

/** Row-major [rows, cols], each entry from `entry(row, col)`. */
function matrix(rows: number, cols: number, entry: (row: number, col: number) => number): Float32Array {
  const m = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) m[r * cols + c] = entry(r, c);
  return m;
}

const zeros = (dims: number[]) => f16(dims, new Float32Array(dims.reduce((a, b) => a * b, 1)));
const ones = (n: number) => f16([n], new Float32Array(n).fill(1));
const vector = (n: number, entry: (i: number) => number) => f16([n], Float32Array.from({ length: n }, (_, i) => entry(i)));

/** Unit-length random rows in the first `embeddingDims` dimensions: near-orthogonal tokens. */
function embedding(): Float32Array {
  const { vocab, hidden } = shape;
  const raw = uniformStream(20261201)(vocab * embeddingDims, 1);
  const norms = Array.from({ length: vocab }, (_, row) => Math.hypot(...raw.subarray(row * embeddingDims, (row + 1) * embeddingDims)));
  return matrix(vocab, hidden, (row, col) => (col < embeddingDims ? raw[row * embeddingDims + col] / norms[row] : 0));
}

// RoPE pairs dimension i of the head with i + 64 and turns the pair by position × invFreq[i]. The
// fast pairs tell neighbouring positions apart; the slow ones turn less than 0.3 rad across the
// whole window, so what they carry is compared whatever the distance.
const half = shape.headDim / 2;
const invFreq = ropeInverseFrequencies(shape.headDim, ropeTheta, undefined, undefined).invFreq;
const pairsOf = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
/** Layer 0 compares positions on these: 12 fast pairs score distance 1 at least 0.8 per pair above any other distance. */
const previousPairs = pairsOf(0, 12);
/** Layer 1 compares tokens on the 32 slowest pairs (64 dimensions: the whole embedding). */
const contentPairs = pairsOf(half - embeddingDims / 2, half);
/** Layer 1's tie-break by distance. */
const distancePairs = pairsOf(0, 16);
const bothDims = (pairs: number[]) => [...pairs, ...pairs.map((i) => i + half)];
const contentDims = bothDims(contentPairs);
const qkScale = Math.sqrt(shape.headDim);

/**
 * Layer 0, the previous-token head: constant queries and keys (biases only), the key turned one RoPE
 * step ahead of the query on every pair, so q·k peaks at distance 1. Its value, the token's
 * embedding, is written to dimensions 64–127: every position then also holds the token before it.
 */
function previousTokenLayer(): Record<string, F16Tensor> {
  const { hidden, headDim } = shape;
  // 100 per pair at distance 1: at least 80 above any other distance (e^-80).
  const amplitude = Math.sqrt(100 * qkScale);
  const query = (d: number) => (previousPairs.includes(d) ? amplitude : 0);
  const key = (d: number) => {
    const pair = d % half;
    if (!previousPairs.includes(pair)) return 0;
    return amplitude * (d < half ? Math.cos(invFreq[pair]) : Math.sin(invFreq[pair]));
  };
  return {
    'q_proj.weight': zeros([headDim, hidden]),
    'q_proj.bias': vector(headDim, query),
    'k_proj.weight': zeros([headDim, hidden]),
    'k_proj.bias': vector(headDim, key),
    // RMSNorm scales the unit embedding by √hidden: the value is the embedding again.
    'v_proj.weight': f16([headDim, hidden], matrix(headDim, hidden, (r, c) => (r === c && r < embeddingDims ? 1 / Math.sqrt(hidden) : 0))),
    'o_proj.weight': f16([hidden, headDim], matrix(hidden, headDim, (r, c) => (r === embeddingDims + c ? 1 : 0))),
  };
}

/**
 * Layer 1, the induction head: the query is the current token, the key the token before each
 * position, compared on the slow pairs; it attends to the positions right after earlier
 * occurrences of the current token and copies what stood there, so generation walks the document's
 * own word pairs. The fast pairs add a score of the distance alone, −w·Σ cos(distance · invFreq): it
 * breaks ties between occurrences differently at every step (a walk, not a loop of the likeliest
 * pair) and keeps the last few positions (the answer itself) out.
 */
function inductionLayer(): Record<string, F16Tensor> {
  const { hidden, headDim } = shape;
  // Input: the unit current token and the unit previous token, so RMSNorm scales by √(hidden/2).
  const norm = Math.sqrt(hidden / 2);
  // A match scores 600; another token 600 × N(0, 1/8), at most about 0.45 × 600 among 2,048; the
  // distance term, 8 per pair over 16 pairs, moves scores by a few tens.
  const strength = 600;
  const scale = Math.sqrt((strength * qkScale) / (norm * norm));
  const distanceAmplitude = Math.sqrt(8 * qkScale);
  const proj = (from: number) => matrix(headDim, hidden, (r, c) => (contentDims.includes(r) && c === from + contentDims.indexOf(r) ? scale : 0));
  // Query (a, 0) and key (−a, 0) on a pair: q·k = −a² cos(distance · invFreq).
  const distanceBias = (sign: number) => (d: number) => (distancePairs.includes(d) ? sign * distanceAmplitude : 0);
  return {
    'q_proj.weight': f16([headDim, hidden], proj(0)),
    'q_proj.bias': vector(headDim, distanceBias(1)),
    'k_proj.weight': f16([headDim, hidden], proj(embeddingDims)),
    'k_proj.bias': vector(headDim, distanceBias(-1)),
    'v_proj.weight': f16([headDim, hidden], matrix(headDim, hidden, (r, c) => (r === c && r < embeddingDims ? 1 / norm : 0))),
    // 4× the current token's own embedding, so the copied token wins the logits.
    'o_proj.weight': f16([hidden, headDim], matrix(hidden, headDim, (r, c) => (r === c && r < embeddingDims ? 4 : 0))),
  };
}

function weights(): Record<string, F16Tensor> {
  const { hidden, intermediate, headDim } = shape;
  const tensors: Record<string, F16Tensor> = {
    'model.embed_tokens.weight': f16([shape.vocab, hidden], embedding()),
    'model.norm.weight': ones(hidden),
  };
  [previousTokenLayer(), inductionLayer()].forEach((attention, l) => {
    const p = `model.layers.${l}`;
    tensors[`${p}.input_layernorm.weight`] = ones(hidden);
    tensors[`${p}.post_attention_layernorm.weight`] = ones(hidden);
    for (const [name, tensor] of Object.entries(attention)) tensors[`${p}.self_attn.${name}`] = tensor;
    tensors[`${p}.self_attn.v_proj.bias`] = zeros([headDim]);
    // No MLP: the two attentions are the whole model.
    tensors[`${p}.mlp.gate_proj.weight`] = zeros([intermediate, hidden]);
    tensors[`${p}.mlp.up_proj.weight`] = zeros([intermediate, hidden]);
    tensors[`${p}.mlp.down_proj.weight`] = zeros([hidden, intermediate]);
  });
  return tensors;
}

// ChatML as Qwen writes it, without Qwen's default system prompt: the demo would only quote it back.
const template = [
  "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{%- endfor %}",
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}",
].join('');
await mkdir(out, { recursive: true });
const json = (name: string, value: unknown) => writeFile(new URL(name, out), JSON.stringify(value, null, 1) + '\n');
await json('config.json', {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_size: shape.hidden,
  intermediate_size: shape.intermediate,
  num_hidden_layers: shape.layers,
  num_attention_heads: shape.heads,
  num_key_value_heads: shape.kvHeads,
  vocab_size: shape.vocab,
  max_position_embeddings: contextWindow,
  rms_norm_eps: 1e-6,
  rope_theta: ropeTheta,
  hidden_act: 'silu',
  tie_word_embeddings: true,
  use_sliding_window: false,
  bos_token_id: null,
  eos_token_id: 258,
  torch_dtype: 'float16',
  star_reader_demo: 'not trained: answers by quoting the document, for trying the flow and the speedup',
});
await json('generation_config.json', { eos_token_id: [258, 256], do_sample: false, max_new_tokens: 64 });
await json('tokenizer_config.json', {
  bos_token: null,
  eos_token: '<|im_end|>',
  pad_token: '<|endoftext|>',
  chat_template: template,
  model_max_length: contextWindow,
});
await json('tokenizer.json', tokenizerJson(learnMerges(trainingText(), shape.vocab - firstMergeId)));
await writeFile(new URL('model.safetensors', out), encodeSafetensors(weights()));
console.log(`wrote ${out.pathname}`);
