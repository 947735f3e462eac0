// What bounds a 64K- or 128K-token phase 1 on a big GPU (bench/torch/run-prefill-long.sh), checked
// without running one: the KV cache's chunks against the device's buffer limits (the WebGPU default
// binding of 128 MiB, and the 4 GiB a driver may give), Star Attention's blocks against its chunks, and
// the memory plan, for the two benchmark layouts (bench/torch/layouts.py) with the f16 cache.
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { KvCache, type KvShape } from '../../src/model/kv-cache.ts';
import { planMemory } from '../../src/model/memory-plan.ts';
import { parseModelConfig, type ModelConfig } from '../../src/model/config.ts';
import { planBlocks } from '../../src/star/block-planner.ts';

const qwen05b = parseModelConfig({
  model_type: 'qwen2',
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  vocab_size: 151936,
  max_position_embeddings: 262144,
  rope_theta: 1000000,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: true,
});
const llama1b = parseModelConfig({
  model_type: 'llama',
  hidden_size: 2048,
  intermediate_size: 8192,
  num_hidden_layers: 16,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  head_dim: 64,
  vocab_size: 128256,
  max_position_embeddings: 262144,
  rope_theta: 500000,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: true,
  rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
});

const limitSets = [
  { name: 'the WebGPU default binding', maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 2 ** 32 },
  { name: 'a 4 GiB binding', maxStorageBufferBindingSize: 2 ** 32 - 4, maxBufferSize: 2 ** 32 },
];

/** Just what KvCache asks of a Gpu: its limits, and buffers whose sizes are recorded. */
function limitsGpu(limits: { maxStorageBufferBindingSize: number; maxBufferSize: number }) {
  const sizes: number[] = [];
  const gpu = {
    maxBindingBytes: limits.maxStorageBufferBindingSize,
    device: { limits },
    buffer: (bytes: number) => {
      sizes.push(bytes);
      return { size: bytes, destroy() {} };
    },
  };
  return { gpu: gpu as unknown as Gpu, sizes };
}

const kvShape = (c: ModelConfig): KvShape => ({ layers: c.layers, kvHeads: c.kvHeads, headDim: c.headDim, dtype: 'f16' });

describe('a 128K-token phase 1 on one host, b = n/16', () => {
  for (const [name, config] of [['Qwen2.5-0.5B', qwen05b], ['Llama-3.2-1B', llama1b]] as const) {
    for (const limits of limitSets) {
      it(`${name}, ${limits.name}: every KV chunk fits a binding, blocks never straddle chunks, every row has a span`, () => {
        const n = 131072;
        const plan = planBlocks(n, { blockSize: n / 16 });
        expect([plan.blockSize, plan.blocks.length, plan.anchorSize]).toEqual([8192, 16, 8192]);
        const { gpu, sizes } = limitsGpu(limits);
        // The capacity the engine asks for: the document and one row for the question (bench --decode 0).
        const cache = new KvCache(gpu, kvShape(config), n + 1, plan.blockSize);
        const rowBytes = config.kvHeads * config.headDim * 2;
        const binding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
        expect(Math.max(...sizes)).toBeLessThanOrEqual(binding);
        expect(cache.alignedTo()).toBe(plan.blockSize);
        expect(cache.chunkTokens % plan.blockSize).toBe(0);
        cache.append(n, 0);
        const spans = cache.spans(config.layers - 1);
        expect(spans.reduce((rows, s) => rows + s.length, 0)).toBe(n);
        // Each span's rows, as element offsets in its chunk, stay within the chunk (and so within u32).
        for (const span of spans) expect((span.start + span.length) * rowBytes).toBeLessThanOrEqual(binding);
        for (const block of plan.blocks) expect(Math.floor(block.start / cache.chunkTokens)).toBe(Math.floor((block.end - 1) / cache.chunkTokens));
      });
    }
  }

  it('the memory plan: per-buffer limits met; the f16 KV cache is 1.6 GB (Qwen2.5-0.5B) and 4.3 GB (Llama-3.2-1B)', () => {
    for (const [config, kvBytesPerToken] of [[qwen05b, 2 * 24 * 128 * 2], [llama1b, 2 * 16 * 512 * 2]] as const) {
      const plan = planMemory(config, { contextTokens: 131072, conversationTokens: 1, weightType: 'bf16', kvType: 'f16', limits: limitSets[0] });
      expect(plan.fits).toBe(true);
      expect(plan.kvBytesPerToken).toBe(kvBytesPerToken);
      expect(plan.kvBytes).toBe(131073 * kvBytesPerToken);
    }
  });
});
