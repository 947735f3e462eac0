// GGUF files (llama.cpp, Ollama, LM Studio) as a model: the header through @huggingface/gguf (read
// with Range requests from any ModelFiles, a local File or a URL), config.json's fields from the
// metadata, llama.cpp's tensor names mapped to Hugging Face's, tensor data through ggml.ts, and the
// tokenizer and chat template from the metadata.
// llama.cpp's converter permutes the rows of Q and K for the llama architecture (convert_hf_to_gguf.py,
// LlamaModel.permute: within each head, the rotary halves' rows interleaved); that is undone here so
// the RoPE kernels see Hugging Face's layout. Qwen2/Qwen3 files are written unpermuted.
import { gguf, type GGUFParseOutput } from '@huggingface/gguf';
import type { WeightFormat } from '../../gpu/kernels/weight-format.ts';
import { parseModelConfig, type ModelConfig } from '../config.ts';
import { ropeInverseFrequencies } from '../rope-frequencies.ts';
import type { ModelFiles } from '../source/model-files.ts';
import { ggmlQuantizedFormat, ggmlRowBytes, ggmlRows, ggmlTypeName, type GgmlTypeName } from './ggml.ts';
import type { FloatDType } from '../safetensors.ts';
import { WeightFormatError, type StoredRows, type StoredTensor, type TensorProvider } from './stored-tensor.ts';

export interface GgufModel {
  /** The config.json a Hugging Face checkpoint of this model would have (the fields Star Reader reads). */
  configJson: Record<string, unknown>;
  config: ModelConfig;
  provider: TensorProvider;
  /** GPU formats of the quantized matrices, by Hugging Face name (for planMemory's tensorFormats). */
  tensorFormats: Map<string, WeightFormat>;
  /** tokenizer.json and tokenizer_config.json equivalents (for createTokenizer); undefined when the file has no BPE vocabulary. */
  tokenizer?: { tokenizerJson: Record<string, unknown>; tokenizerConfig: Record<string, unknown> };
  chatTemplate?: string;
}

const supportedArchitectures = ['llama', 'qwen2', 'qwen3'] as const;

/** llama.cpp's tensor name → Hugging Face's. */
export function huggingFaceName(name: string): string | undefined {
  const fixed: Record<string, string> = {
    'token_embd.weight': 'model.embed_tokens.weight',
    'output_norm.weight': 'model.norm.weight',
    'output.weight': 'lm_head.weight',
  };
  if (fixed[name]) return fixed[name];
  const match = /^blk\.(\d+)\.(\w+)\.(weight|bias)$/.exec(name);
  if (!match) return undefined;
  const [, layer, part, kind] = match;
  const parts: Record<string, string> = {
    attn_norm: 'input_layernorm',
    attn_q: 'self_attn.q_proj',
    attn_k: 'self_attn.k_proj',
    attn_v: 'self_attn.v_proj',
    attn_output: 'self_attn.o_proj',
    attn_q_norm: 'self_attn.q_norm',
    attn_k_norm: 'self_attn.k_norm',
    ffn_norm: 'post_attention_layernorm',
    ffn_gate: 'mlp.gate_proj',
    ffn_up: 'mlp.up_proj',
    ffn_down: 'mlp.down_proj',
  };
  return parts[part] ? `model.layers.${layer}.${parts[part]}.${kind}` : undefined;
}

/** GGUF row of each Hugging Face row of a permuted Q or K (llama.cpp's permute, inverted). */
export function unpermutedRows(rows: number, heads: number): Int32Array {
  const headDim = rows / heads;
  const half = headDim / 2;
  const from = new Int32Array(rows);
  for (let h = 0; h < heads; h++) {
    for (let t = 0; t < 2; t++) for (let i = 0; i < half; i++) from[h * headDim + t * half + i] = h * headDim + 2 * i + t;
  }
  return from;
}

/** The file's header, read through `source` (the parser asks for byte ranges of a URL; this serves them). */
export async function readGgufHeader(source: ModelFiles, file: string): Promise<GGUFParseOutput> {
  const size = await source.size(file);
  const serve = async (_url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const range = /bytes=(\d+)-(\d+)/.exec(String((init?.headers as Record<string, string> | undefined)?.Range ?? ''));
    const begin = range ? Number(range[1]) : 0;
    const end = Math.min(range ? Number(range[2]) + 1 : size, size);
    const bytes = await source.read(file, begin, Math.max(0, end - begin));
    return new Response(bytes as Uint8Array<ArrayBuffer>, { status: 206, headers: { 'content-range': `bytes ${begin}-${begin + bytes.byteLength - 1}/${size}` } });
  };
  try {
    return await gguf(`https://gguf.invalid/${encodeURIComponent(file)}`, { fetch: serve as typeof fetch });
  } catch (error) {
    throw new WeightFormatError(`${file} in ${source.name} is not a readable GGUF file (${(error as Error).message})`);
  }
}

type Metadata = Record<string, unknown>;

function metaNumber(metadata: Metadata, key: string): number | undefined {
  const value = metadata[key];
  return typeof value === 'bigint' ? Number(value) : typeof value === 'number' ? value : undefined;
}

function required(metadata: Metadata, key: string, file: string): number {
  const value = metaNumber(metadata, key);
  if (value === undefined) throw new WeightFormatError(`${file}: GGUF metadata has no "${key}"`);
  return value;
}

/** Opens a GGUF model: header, config, tensors, tokenizer. Reads only the header and metadata. */
export async function openGguf(source: ModelFiles, file: string): Promise<GgufModel> {
  const header = await readGgufHeader(source, file);
  const metadata = header.metadata as unknown as Metadata;
  const arch = String(metadata['general.architecture']);
  if (!(supportedArchitectures as readonly string[]).includes(arch)) {
    throw new WeightFormatError(`${file}: GGUF architecture "${arch}" is not supported (supported: ${supportedArchitectures.join(', ')})`);
  }
  const key = (k: string) => `${arch}.${k}`;
  const heads = required(metadata, key('attention.head_count'), file);
  const kvHeads = metaNumber(metadata, key('attention.head_count_kv')) ?? heads;
  const hidden = required(metadata, key('embedding_length'), file);
  const tokens = metadata['tokenizer.ggml.tokens'];
  const vocab = metaNumber(metadata, key('vocab_size')) ?? (Array.isArray(tokens) ? tokens.length : undefined);
  const headDim = metaNumber(metadata, key('attention.key_length')) ?? hidden / heads;
  const rotary = metaNumber(metadata, key('rope.dimension_count')) ?? headDim;
  if (rotary !== headDim) throw new WeightFormatError(`${file}: RoPE covers ${rotary} of ${headDim} head dimensions (partial rotary), which is not supported for GGUF files`);
  const names = new Map(header.tensorInfos.map((t) => [t.name, t]));
  const theta = metaNumber(metadata, key('rope.freq_base')) ?? 10000;
  const ropeFreqs = names.get('rope_freqs.weight');
  const ropeScaling = ropeFreqs
    ? llama3Scaling(await readRopeFactors(source, file, Number(header.tensorDataOffset + ropeFreqs.offset), ropeFreqs.dtype, headDim), headDim, theta, file)
    : metadataScaling(metadata, key, file);
  const configJson: Record<string, unknown> = {
    model_type: arch,
    hidden_size: hidden,
    intermediate_size: required(metadata, key('feed_forward_length'), file),
    num_hidden_layers: required(metadata, key('block_count'), file),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    max_position_embeddings: required(metadata, key('context_length'), file),
    rms_norm_eps: required(metadata, key('attention.layer_norm_rms_epsilon'), file),
    rope_theta: theta,
    ...(ropeScaling ? { rope_scaling: ropeScaling } : {}),
    vocab_size: vocab,
    tie_word_embeddings: !names.has('output.weight'),
    bos_token_id: metaNumber(metadata, 'tokenizer.ggml.bos_token_id'),
    eos_token_id: metaNumber(metadata, 'tokenizer.ggml.eos_token_id'),
  };
  // Qwen2 always has q/k/v biases; for the others config.json's attention_bias says whether q/k/v/o do.
  if (arch !== 'qwen2') configJson.attention_bias = names.has('blk.0.attn_q.bias');
  let config: ModelConfig;
  try {
    config = parseModelConfig(configJson);
  } catch (error) {
    throw new WeightFormatError(`${file}: the GGUF metadata does not make a valid config (${(error as Error).message})`);
  }

  const tensors = new Map<string, GgufStoredTensor>();
  const tensorFormats = new Map<string, WeightFormat>();
  for (const info of header.tensorInfos) {
    const hfName = huggingFaceName(info.name);
    if (!hfName) continue;
    const type = ggmlTypeName(info.dtype);
    if (!type) throw new WeightFormatError(`${file}: tensor "${info.name}" has ggml type ${info.dtype}, which is not supported (supported: F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q6_K)`);
    const ne = info.shape.map(Number);
    const shape = ne.length === 1 ? ne : [ne[1], ne[0]];
    const permuteHeads = arch === 'llama' && hfName.endsWith('q_proj.weight') ? heads : arch === 'llama' && hfName.endsWith('k_proj.weight') ? kvHeads : undefined;
    const stored = ggufTensor(source, file, hfName, type, shape, Number(header.tensorDataOffset + info.offset), permuteHeads);
    tensors.set(hfName, stored);
    if (stored.quantized && shape.length === 2) tensorFormats.set(hfName, stored.quantized);
  }
  const types = new Set([...tensors.values()].map((t) => t.description));
  return {
    configJson,
    config,
    provider: { description: `GGUF (${[...types].join(', ')})`, get: (name) => tensors.get(name) },
    tensorFormats,
    tokenizer: ggufTokenizer(metadata),
    chatTemplate: typeof metadata['tokenizer.chat_template'] === 'string' ? metadata['tokenizer.chat_template'] : undefined,
  };
}

/** RoPE scaling a GGUF file states in its metadata (rope.scaling.*): none or linear; others refused. */
function metadataScaling(metadata: Metadata, key: (k: string) => string, file: string): Record<string, unknown> | undefined {
  const type = metadata[key('rope.scaling.type')];
  if (type === undefined || type === 'none') return undefined;
  if (type === 'linear') return { rope_type: 'linear', factor: metaNumber(metadata, key('rope.scaling.factor')) };
  throw new WeightFormatError(`${file}: RoPE scaling "${String(type)}" in a GGUF file is not supported (only none, linear, and Llama 3's frequency factors)`);
}

async function readRopeFactors(source: ModelFiles, file: string, begin: number, dtype: number, headDim: number): Promise<Float32Array> {
  if (ggmlTypeName(dtype) !== 'F32') throw new WeightFormatError(`${file}: rope_freqs.weight is not F32`);
  const bytes = await source.read(file, begin, (headDim / 2) * 4);
  return new Float32Array(bytes.slice().buffer);
}

/**
 * Llama 3's rope_scaling from the frequency factors llama.cpp's converter stores (rope_freqs.weight:
 * each dimension's inverse frequency is divided by its factor). The largest factor is `factor`; the
 * others follow from low_freq_factor 1, high_freq_factor 4 and original_max_position_embeddings 8192,
 * the values every Llama 3.1/3.2/3.3 release uses; that is checked against every stored factor, and a
 * file whose factors differ is refused rather than guessed at.
 */
export function llama3Scaling(factors: Float32Array, headDim: number, theta: number, file: string): Record<string, unknown> {
  const factor = factors.reduce((m, v) => Math.max(m, v), 0);
  const scaling = { rope_type: 'llama3', factor, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
  const base = ropeInverseFrequencies(headDim, theta).invFreq;
  const scaled = ropeInverseFrequencies(headDim, theta, { type: 'llama3', factor, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 }).invFreq;
  const off = factors.findIndex((f, j) => Math.abs(base[j] / scaled[j] - f) > 1e-4 * f);
  if (off >= 0) {
    throw new WeightFormatError(`${file}: rope_freqs.weight[${off}] = ${factors[off]} is not Llama 3's factor for dimension ${off} (${base[off] / scaled[off]}): this RoPE scaling is not supported`);
  }
  return scaling;
}

interface GgufStoredTensor extends StoredTensor {
  /** The ggml type, for messages. */
  readonly description: GgmlTypeName;
}

function ggufTensor(source: ModelFiles, file: string, name: string, type: GgmlTypeName, shape: number[], begin: number, permuteHeads?: number): GgufStoredTensor {
  const [rows, ins] = shape.length === 2 ? shape : [1, shape[0]];
  const rowBytes = ggmlRowBytes(type, ins, name);
  const readRange = async (first: number, count: number) => {
    const bytes = await source.read(file, begin + first * rowBytes, count * rowBytes);
    if (bytes.byteLength !== count * rowBytes) throw new WeightFormatError(`${file}: short read of "${name}" (the file is truncated?)`);
    return bytes;
  };
  const quantized = ggmlQuantizedFormat(type);
  return {
    name,
    file,
    shape,
    description: type,
    fileBytes: rows * rowBytes,
    quantized,
    floatDType: quantized ? undefined : (type as FloatDType),
    // Permuted rows are gathered from the whole tensor.
    minReadRows: permuteHeads ? rows : 2,
    async read(first, count): Promise<StoredRows> {
      if (!permuteHeads) return ggmlRows(type, await readRange(first, count), count * ins);
      const whole = await readRange(0, rows);
      const from = unpermutedRows(rows, permuteHeads);
      const gathered = new Uint8Array(count * rowBytes);
      for (let r = 0; r < count; r++) gathered.set(whole.subarray(from[first + r] * rowBytes, (from[first + r] + 1) * rowBytes), r * rowBytes);
      return ggmlRows(type, gathered, count * ins);
    },
  };
}

// Pre-tokenizer split patterns of the BPE vocabularies llama.cpp names (tokenizer.ggml.pre), as the
// same models' tokenizer.json files give them.
const splitPatterns: Record<string, string> = {
  'llama-bpe': "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  qwen2: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};

/** GGUF token types (llama.cpp's llama_token_type): control and user-defined tokens are added tokens. */
const controlToken = 3;
const userDefinedToken = 4;

/**
 * A byte-level BPE vocabulary (tokenizer.ggml.model "gpt2") as tokenizer.json and tokenizer_config.json:
 * vocabulary and merges as they are, control tokens as special added tokens, the pre-tokenizer of the
 * named family, and Llama 3's begin-of-text added when tokenizer.ggml.add_bos_token says so.
 */
export function ggufTokenizer(metadata: Metadata): GgufModel['tokenizer'] {
  const tokens = metadata['tokenizer.ggml.tokens'];
  const merges = metadata['tokenizer.ggml.merges'];
  if (metadata['tokenizer.ggml.model'] !== 'gpt2' || !Array.isArray(tokens) || !Array.isArray(merges)) return undefined;
  const pattern = splitPatterns[String(metadata['tokenizer.ggml.pre'])];
  if (pattern === undefined) return undefined;
  const types = (metadata['tokenizer.ggml.token_type'] as number[] | undefined) ?? [];
  const vocab: Record<string, number> = {};
  (tokens as string[]).forEach((token, id) => (vocab[token] = id));
  const added = (tokens as string[]).flatMap((content, id) =>
    types[id] === controlToken || types[id] === userDefinedToken
      ? [{ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: types[id] === controlToken }]
      : [],
  );
  const bosId = metaNumber(metadata, 'tokenizer.ggml.bos_token_id');
  const eosId = metaNumber(metadata, 'tokenizer.ggml.eos_token_id');
  const bos = bosId === undefined ? undefined : (tokens as string[])[bosId];
  const eos = eosId === undefined ? undefined : (tokens as string[])[eosId];
  const addBos = metadata['tokenizer.ggml.add_bos_token'] === true && bos !== undefined;
  const tokenizerJson: Record<string, unknown> = {
    version: '1.0',
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: addBos
      ? {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
          special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
        }
      : { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: arch(metadata) === 'llama', vocab, merges },
  };
  const tokenizerConfig: Record<string, unknown> = { bos_token: bos, eos_token: eos, chat_template: metadata['tokenizer.chat_template'] };
  return { tokenizerJson, tokenizerConfig };
}

function arch(metadata: Metadata): string {
  return String(metadata['general.architecture']);
}
