// Writes public/models/demo/: the embedded default model that lets `npm start` work offline. Random
// weights in a Qwen2 layout and a byte-level tokenizer (one token per byte) with Qwen's chat
// template: it exercises the whole flow and the speedup demo, and its answers are gibberish.
// Run: npx tsx scripts/make-demo-model.ts
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { encodeSafetensors, type TensorToWrite } from '../src/model/safetensors-writer.ts';
import { f16BitsToF32, f32ToF16Bits } from '../src/model/dtype.ts';
import { uniformStream } from '../src/model/synthetic-weights.ts';

const f16ToNumber = (bits: number) => f16BitsToF32(Uint16Array.of(bits))[0];

const out = new URL('../public/models/demo/', import.meta.url);
const shape = { hidden: 128, intermediate: 384, layers: 2, heads: 4, kvHeads: 2, headDim: 32, vocab: 320 };
const specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];

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

function tokenizerJson() {
  const vocab: Record<string, number> = {};
  byteCharacters().forEach((c, i) => (vocab[c] = i));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, i) => ({ id: 256 + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'NFC' },
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  };
}

function weights(): Record<string, TensorToWrite & { dtype: 'F16' }> {
  const random = uniformStream(20261124);
  const tensors: Record<string, TensorToWrite & { dtype: 'F16' }> = {};
  const add = (name: string, dims: number[], scale: number, offset = 0) => {
    const n = dims.reduce((a, b) => a * b, 1);
    tensors[name] = { dtype: 'F16', shape: dims, data: f32ToF16Bits(random(n, scale, offset)) };
  };
  const { hidden, intermediate, heads, kvHeads, headDim, vocab } = shape;
  add('model.embed_tokens.weight', [vocab, hidden], 1);
  // The embedding is also the output layer (tied): shrinking every row but lowercase letters, space
  // and a few punctuation marks makes the gibberish readable characters instead of control bytes.
  const embedding = tensors['model.embed_tokens.weight'];
  const readable = new Set([...'abcdefghijklmnopqrstuvwxyz .,'].map((c) => byteCharacters()[c.charCodeAt(0)]).map((c) => c.codePointAt(0)));
  byteCharacters().forEach((c, id) => {
    if (readable.has(c.codePointAt(0))) return;
    const row = embedding.data as Uint16Array;
    const shrunk = f32ToF16Bits(Float32Array.from(row.subarray(id * hidden, (id + 1) * hidden), (bits) => f16ToNumber(bits) * 0.3));
    row.set(shrunk, id * hidden);
  });
  for (let l = 0; l < shape.layers; l++) {
    const p = `model.layers.${l}`;
    add(`${p}.input_layernorm.weight`, [hidden], 0.1, 1);
    add(`${p}.self_attn.q_proj.weight`, [heads * headDim, hidden], 2 / Math.sqrt(hidden));
    add(`${p}.self_attn.q_proj.bias`, [heads * headDim], 0.1);
    add(`${p}.self_attn.k_proj.weight`, [kvHeads * headDim, hidden], 2 / Math.sqrt(hidden));
    add(`${p}.self_attn.k_proj.bias`, [kvHeads * headDim], 0.1);
    add(`${p}.self_attn.v_proj.weight`, [kvHeads * headDim, hidden], 1 / Math.sqrt(hidden));
    add(`${p}.self_attn.v_proj.bias`, [kvHeads * headDim], 0.1);
    add(`${p}.self_attn.o_proj.weight`, [hidden, heads * headDim], 1 / Math.sqrt(hidden));
    add(`${p}.post_attention_layernorm.weight`, [hidden], 0.1, 1);
    add(`${p}.mlp.gate_proj.weight`, [intermediate, hidden], 1 / Math.sqrt(hidden));
    add(`${p}.mlp.up_proj.weight`, [intermediate, hidden], 1 / Math.sqrt(hidden));
    add(`${p}.mlp.down_proj.weight`, [hidden, intermediate], 1 / Math.sqrt(intermediate));
  }
  add('model.norm.weight', [hidden], 0.1, 1);
  return tensors;
}

const template = await readFile(new URL('../test/fixtures/text/qwen2.5-instruct.jinja', import.meta.url), 'utf8');
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
  max_position_embeddings: 32768,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  hidden_act: 'silu',
  tie_word_embeddings: true,
  use_sliding_window: false,
  bos_token_id: null,
  eos_token_id: 258,
  torch_dtype: 'float16',
  star_reader_demo: 'random weights: answers are gibberish; for trying the flow and the speedup',
});
await json('generation_config.json', { eos_token_id: [258, 256], do_sample: false, max_new_tokens: 64 });
await json('tokenizer_config.json', {
  bos_token: null,
  eos_token: '<|im_end|>',
  pad_token: '<|endoftext|>',
  chat_template: template,
  model_max_length: 32768,
});
await json('tokenizer.json', tokenizerJson());
await writeFile(new URL('model.safetensors', out), encodeSafetensors(weights()));
console.log(`wrote ${out.pathname}`);
