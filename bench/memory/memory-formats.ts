// The memory table of bench/results/memory-formats.md: what planMemory counts for three real model
// layouts in every weight format, with a 32K-token KV cache in f32 and in f16. From config.json fields
// alone (no download). Regenerate: npx tsx bench/memory/write-memory-formats.ts
// (test/unit/memory-formats.test.ts fails when the committed file is not this function's output).
import { weightFormats } from '../../src/gpu/kernels/weight-format.ts';
import { parseModelConfig, type ModelConfig } from '../../src/model/config.ts';
import { planMemory, type KvType } from '../../src/model/memory-plan.ts';
import type { WeightType } from '../../src/model/weights.ts';

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

export function planFor(config: ModelConfig, weightType: WeightType, kvType: KvType, cpuEmbedding = false) {
  return planMemory(config, { contextTokens, weightType, kvType, cpuEmbedding, limits });
}

const gb = (bytes: number) => (bytes / 1e9).toFixed(2);
const gib = 2 ** 30;

export function memoryFormatsMarkdown(): string {
  const lines = [
    '# GPU memory per weight format',
    '',
    `Computed by \`planMemory\` (src/model/memory-plan.ts) from each model's config.json fields: weights as`,
    'loadWeights stores them (matrices in the format, with the quantized formats\' scales; norm weights and',
    `biases f32), the KV cache for ${contextTokens} tokens, and the prefill scratch (512-row pieces). GB = 10⁹ bytes.`,
    'Bytes per weight: f32 4, bf16/f16 2, q8 1 + 2/32 (an f16 scale per 32), q4 0.5 + 4/32 (an f16 scale and',
    'zero per 32), q4g128 0.5 + 4/128 (an f16 scale and zero per 128). Regenerate with',
    '`npx tsx bench/memory/write-memory-formats.ts`.',
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
  const parameters = planFor(llama8b, 'f32', 'f16').weightBytes / 4;
  const target = planFor(llama8b, 'q4g128', 'f16', true);
  lines.push(
    '',
    `## Target (issue 14): Llama-3.1-8B in 4 bits with a ${contextTokens / 1024}K-token f16 cache`,
    '',
    'Its lm_head is not tied to the input embedding, so the embedding can stay in CPU memory',
    '(`cpuEmbedding`: each piece\'s rows gathered there and uploaded; the tied Qwen2.5-0.5B and Llama-3.2-1B',
    'gain nothing from it, their lm_head reads the table).',
    '',
    '| Llama-3.1-8B layout | GPU weights GB | CPU weights GB | total on the GPU with 32K f16 KV GB | within 8 GB (8·10⁹) | within 8 GiB | f16 KV tokens that fit beside the weights in 8 GB / 8 GiB |',
    '|---|---|---|---|---|---|---|',
  );
  const fitting = { gb: [] as string[], gib: [] as string[] };
  for (const [format, cpuEmbedding] of [['q4', false], ['q4g128', false], ['q4', true], ['q4g128', true]] as const) {
    const plan = planFor(llama8b, format, 'f16', cpuEmbedding);
    const name = `${format}, ${cpuEmbedding ? 'input embedding gathered on the CPU' : 'every matrix on the GPU'}`;
    if (plan.totalBytes <= 8e9) fitting.gb.push(name);
    if (plan.totalBytes <= 8 * gib) fitting.gib.push(name);
    const fit = (budget: number) => planMemory(llama8b, { contextTokens, weightType: format, kvType: 'f16', cpuEmbedding, limits, deviceMemoryBudget: budget }).maxContextTokens;
    lines.push(
      `| ${name} | ${gb(plan.weightBytes)} | ${gb(plan.cpuWeightBytes)} | ${gb(plan.totalBytes)} | ${plan.totalBytes <= 8e9 ? 'yes' : 'no'} | ${plan.totalBytes <= 8 * gib ? 'yes' : 'no'} | ${fit(8e9)} / ${fit(8 * gib)} |`,
    );
  }
  lines.push(
    '',
    `Within 8 GiB (${gb(8 * gib)} GB): ${fitting.gib.join('; ') || 'none'}. Within 8 GB (8·10⁹ bytes): ${fitting.gb.join('; ') || 'none'}.`,
    '',
    `So the target is met in binary units and not in decimal ones: q4g128 with the embedding on the CPU needs ${gb(target.totalBytes)} GB ` +
      `(${(target.totalBytes / gib).toFixed(2)} GiB) of GPU memory, within 8 GiB and ${gb(target.totalBytes - 8e9)} GB over 8·10⁹ bytes. ` +
      `The f16 cache alone is ${gb(target.kvBytes)} GB (${contextTokens} tokens × 32 layers × 2 × 8 KV heads × 128 × 2 bytes = ` +
      `${(target.kvBytes / gib).toFixed(2)} GiB), which leaves ${gb(8e9 - target.kvBytes - target.activationBytes)} GB of 8·10⁹ for the weights ` +
      `and the scratch: ${((8 * (8e9 - target.kvBytes - target.activationBytes)) / (parameters - 128256 * 4096)).toFixed(2)} bits for each of the ` +
      `${((parameters - 128256 * 4096) / 1e9).toFixed(2)} B weights besides the embedding, less than 4 bits and a scale. In 8·10⁹ bytes the ` +
      `same layout holds ${planMemory(llama8b, { contextTokens, weightType: 'q4g128', kvType: 'f16', cpuEmbedding: true, limits, deviceMemoryBudget: 8e9 }).maxContextTokens} tokens of f16 cache.`,
    '',
  );
  return lines.join('\n');
}
