// The memory table of bench/results/memory-formats.md: what planMemory counts for three real model
// layouts in every weight format, with a 32K-token KV cache in f32 and in f16. From config.json fields
// alone (no download). Regenerate: npx tsx bench/memory/write-memory-formats.ts
// (test/unit/memory-formats.test.ts fails when the committed file is not this function's output).
import { weightFormats } from '../../src/gpu/kernels/weight-format.ts';
import { parseModelConfig, type ModelConfig } from '../../src/model/config.ts';
import { planMemory, type KvType } from '../../src/model/memory-plan.ts';
import { expectedTensors, type WeightType } from '../../src/model/weights.ts';

/** The config.json fields planMemory reads, as the Hub repositories publish them. */
export const memoryLayouts: Record<string, ModelConfig> = {
  'Qwen2.5-0.5B': parseModelConfig({
    model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14,
    num_key_value_heads: 2, max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: true, vocab_size: 151936,
  }),
  'Llama-3.2-1B': parseModelConfig({
    model_type: 'llama', hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8,
    head_dim: 64, max_position_embeddings: 131072, rms_norm_eps: 1e-5, rope_theta: 500000, tie_word_embeddings: true, vocab_size: 128256,
    rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  }),
  'Llama-3.1-8B': parseModelConfig({
    model_type: 'llama', hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8,
    head_dim: 128, max_position_embeddings: 131072, rms_norm_eps: 1e-5, rope_theta: 500000, tie_word_embeddings: false, vocab_size: 128256,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  }),
};

export const contextTokens = 32768;
/** Limits that split nothing: the table is about bytes, not about one device's bindings. */
const limits = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 2 ** 40 };

export function planFor(config: ModelConfig, weightType: WeightType, kvType: KvType) {
  return planMemory(config, { contextTokens, weightType, kvType, limits });
}

const gb = (bytes: number) => (bytes / 1e9).toFixed(2);
const gib = 2 ** 30;

/**
 * Weight bytes of a q4 layout the loader does not have (yet): `groupSize` inputs per u32 of f16
 * scale + f16 zero (today 32), and the input embedding table kept off the GPU (one row per token is
 * all a forward reads, so it could be gathered on the CPU and uploaded with each piece's ids).
 * Norm weights and biases f32, as loadWeights stores them.
 */
export function q4WeightBytes(config: ModelConfig, groupSize: number, embeddingOnGpu: boolean): number {
  let bytes = 0;
  for (const tensor of expectedTensors(config)) {
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    if (tensor.type === 'vector') bytes += elements * 4;
    else if (embeddingOnGpu || tensor.name !== 'model.embed_tokens.weight') bytes += elements / 2 + (elements / groupSize) * 4;
  }
  return bytes;
}

export function memoryFormatsMarkdown(): string {
  const lines = [
    '# GPU memory per weight format',
    '',
    `Computed by \`planMemory\` (src/model/memory-plan.ts) from each model's config.json fields: weights as`,
    'loadWeights stores them (matrices in the format, with the quantized formats\' scales; norm weights and',
    `biases f32), the KV cache for ${contextTokens} tokens, and the prefill scratch (512-row pieces). GB = 10⁹ bytes.`,
    'Bytes per weight: f32 4, bf16/f16 2, q8 1 + 2/32 (an f16 scale per 32), q4 0.5 + 4/32 (an f16 scale and',
    'zero per 32). Regenerate with `npx tsx bench/memory/write-memory-formats.ts`.',
    '',
    `| model | weights | weights GB | KV ${contextTokens / 1024}K f32 GB | KV ${contextTokens / 1024}K f16 GB | scratch GB | total, f32 KV | total, f16 KV |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, config] of Object.entries(memoryLayouts)) {
    for (const format of weightFormats) {
      const f32 = planFor(config, format, 'f32');
      const f16 = planFor(config, format, 'f16');
      lines.push(`| ${name} | ${format} | ${gb(f32.weightBytes)} | ${gb(f32.kvBytes)} | ${gb(f16.kvBytes)} | ${gb(f32.activationBytes)} | ${gb(f32.totalBytes)} | ${gb(f16.totalBytes)} |`);
    }
  }
  const llama8b = memoryLayouts['Llama-3.1-8B'];
  const target = planFor(llama8b, 'q4', 'f16');
  const parameters = planFor(llama8b, 'f32', 'f16').weightBytes / 4;
  const inBudget = planMemory(llama8b, { contextTokens, weightType: 'q4', kvType: 'f16', limits, deviceMemoryBudget: 8e9 });
  lines.push(
    '',
    `Target (issue 14): Llama-3.1-8B in q4 with a ${contextTokens / 1024}K-token f16 cache needs ${gb(target.totalBytes)} GB, ` +
      `${target.totalBytes <= 8e9 ? 'within' : 'more than'} 8 GB. The f16 cache alone is ${gb(target.kvBytes)} GB and ${(parameters / 1e9).toFixed(2)} B ` +
      `weights at 4 bits are ${gb(parameters / 2)} GB before any scale, so no 4-bit format meets it; in 8 GB this layout holds ` +
      `${inBudget.maxContextTokens} tokens of f16 cache beside the q4 weights.`,
    '',
    `The same in binary units: the cache is ${contextTokens} tokens × 32 layers × 2 (K, V) × 8 KV heads × 128 × 2 bytes = ` +
      `${(target.kvBytes / gib).toFixed(2)} GiB exactly, so 8 GiB (${gb(8 * gib)} GB) leaves ${gb(8 * gib - target.kvBytes - target.activationBytes)} GB ` +
      `for the weights beside it and the prefill scratch: ${((8 * (8 * gib - target.kvBytes - target.activationBytes)) / parameters).toFixed(2)} bits a weight. ` +
      'q4 as stored today (a u32 of f16 scale and zero per 32 weights) is 5 bits a weight. What would fit (not implemented: ' +
      'GPTQ/AWQ checkpoints publish groups of 128, which the loader repeats into groups of 32 today; GGUF Q4_0 is groups of 32):',
    '',
    '| Llama-3.1-8B q4 layout | bits a weight (matrices on the GPU) | weights GB | total with 32K f16 KV GB | within 8 GB | within 8 GiB |',
    '|---|---|---|---|---|---|',
  );
  const fitting = { gb: [] as string[], gib: [] as string[] };
  for (const [groupSize, embeddingOnGpu] of [[32, true], [128, true], [32, false], [128, false]] as const) {
    const weights = q4WeightBytes(llama8b, groupSize, embeddingOnGpu);
    const total = weights + target.kvBytes + target.activationBytes;
    const where = embeddingOnGpu ? 'all matrices on the GPU' : 'input embedding gathered on the CPU';
    const name = `groups of ${groupSize}, ${where}`;
    if (total <= 8e9) fitting.gb.push(name);
    if (total <= 8 * gib) fitting.gib.push(name);
    lines.push(
      `| groups of ${groupSize}, ${where}${groupSize === 32 && embeddingOnGpu ? ' (today)' : ''} | ${(4 + 32 / groupSize).toFixed(2)} | ${gb(weights)} | ${gb(total)} | ${total <= 8e9 ? 'yes' : 'no'} | ${total <= 8 * gib ? 'yes' : 'no'} |`,
    );
  }
  lines.push(
    '',
    `Within 8 GiB: ${fitting.gib.join('; ') || 'none'}. Within 8·10⁹ bytes: ${fitting.gb.join('; ') || 'none'}.`,
    '',
  );
  return lines.join('\n');
}
