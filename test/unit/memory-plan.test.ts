import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../src/model/config.ts';
import { defaultPieceRows, pieceRowsFor, planMemory } from '../../src/model/memory-plan.ts';
import type { WeightType } from '../../src/model/weights.ts';
import { fixtureConfig, fixtureWeights } from '../support/fixtures.ts';

const limits = { maxBufferSize: 4 * 2 ** 30, maxStorageBufferBindingSize: 128 * 2 ** 20 };

// Llama 3.2 1B: 1.24 B parameters, 16 layers, 8 KV heads of 64.
const llamaJson = {
  model_type: 'llama',
  hidden_size: 2048,
  intermediate_size: 8192,
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  head_dim: 64,
  max_position_embeddings: 131072,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  tie_word_embeddings: true,
  vocab_size: 128256,
};
const llama1b = parseModelConfig(llamaJson);

describe('planMemory', () => {
  it('counts the weights loadWeights creates and the f32 KV cache', async () => {
    const config = await fixtureConfig('tiny-qwen3');
    const fileFloats = [...(await fixtureWeights('tiny-qwen3')).values()].reduce((s, w) => s + w.length, 0);
    const plan = planMemory(config, { contextTokens: 1000, weightType: 'f32', limits });
    expect(plan.weightBytes).toBe(fileFloats * 4);
    expect(plan.kvBytesPerToken).toBe(2 * 2 * 2 * 32 * 4);
    expect(plan.kvBytes).toBe(1000 * plan.kvBytesPerToken);
    expect(plan.totalBytes).toBe(plan.weightBytes + plan.kvBytes + plan.activationBytes);
    expect([plan.fits, plan.maxContextTokens, plan.message]).toEqual([true, undefined, undefined]);
  });

  it('16-bit formats halve matrices but not norms; q8 and q4 count their scales', () => {
    const plan = (weightType: WeightType) => planMemory(llama1b, { contextTokens: 0, weightType, limits }).weightBytes;
    const norms = (2 * 16 + 1) * 2048 * 4;
    const matrixElements = 1_235_814_400 - norms / 4;
    expect(plan('f32')).toBe(1_235_814_400 * 4);
    expect(plan('f16')).toBe(matrixElements * 2 + norms);
    expect(plan('bf16')).toBe(matrixElements * 2 + norms);
    // q8: a byte a weight and an f16 scale per 32; q4: half a byte and an f16 scale and zero per 32.
    expect(plan('q8')).toBe(matrixElements + (matrixElements / 32) * 2 + norms);
    expect(plan('q4')).toBe(matrixElements / 2 + (matrixElements / 32) * 4 + norms);
    // q4g128: an f16 scale and zero per 128.
    expect(plan('q4g128')).toBe(matrixElements / 2 + (matrixElements / 128) * 4 + norms);
  });

  it('an input embedding gathered on the CPU leaves the GPU for an untied model, not for a tied one', () => {
    const untied = { ...llama1b, tieWordEmbeddings: false };
    const plan = (config: typeof llama1b, cpuEmbedding: boolean) => planMemory(config, { contextTokens: 0, weightType: 'q4g128', cpuEmbedding, limits });
    const table = 128256 * 2048 * (0.5 + 4 / 128);
    expect(plan(untied, false).weightBytes - plan(untied, true).weightBytes).toBe(table);
    expect([plan(untied, false).cpuWeightBytes, plan(untied, true).cpuWeightBytes]).toEqual([0, table]);
    expect(plan(llama1b, true)).toEqual(plan(llama1b, false));
  });

  it('advises the next smaller format, then the CPU embedding, when the weights alone do not fit', () => {
    const untied = { ...llama1b, tieWordEmbeddings: false };
    const message = (weightType: WeightType, cpuEmbedding = false, config = untied) =>
      planMemory(config, { contextTokens: 0, weightType, cpuEmbedding, limits, deviceMemoryBudget: 1e8 }).message;
    expect(message('q8')).toMatch(/do not fit: try q4 or q4g128 weights$/);
    expect(message('q4')).toMatch(/do not fit: try q4g128 weights or the input embedding on the CPU$/);
    expect(message('q4', false, llama1b)).toMatch(/do not fit: try q4g128 weights$/);
    expect(message('q4g128')).toMatch(/do not fit: try the input embedding on the CPU$/);
    expect(message('q4g128', true)).toMatch(/\(q4g128, the input embedding's 139\.5 MB on the CPU\).*do not fit$/);
  });

  it("a pre-quantized checkpoint's own formats override the weight type per tensor", () => {
    const embedding = 128256 * 2048;
    const tensorFormats = new Map([['model.embed_tokens.weight', 'q8' as const]]);
    const f16 = planMemory(llama1b, { contextTokens: 0, weightType: 'f16', limits }).weightBytes;
    const mixed = planMemory(llama1b, { contextTokens: 0, weightType: 'f16', tensorFormats, limits }).weightBytes;
    expect(f16 - mixed).toBe(embedding * 2 - (embedding + (embedding / 32) * 2));
  });

  it('an f16 KV cache takes half the bytes per token', () => {
    const f32 = planMemory(llama1b, { contextTokens: 32768, weightType: 'q4', limits });
    const f16 = planMemory(llama1b, { contextTokens: 32768, weightType: 'q4', kvType: 'f16', limits });
    expect(f32.kvBytesPerToken).toBe(2 * 16 * 8 * 64 * 4);
    expect(f16.kvBytesPerToken).toBe(2 * 16 * 8 * 64 * 2);
    expect(f32.kvBytes - f16.kvBytes).toBe(32768 * 2 * 16 * 8 * 64 * 2);
  });

  it('within a budget: the largest context that fits, and the numbers when it does not', () => {
    const budget = 4e9;
    const ok = planMemory(llama1b, { contextTokens: 8192, weightType: 'f16', limits, deviceMemoryBudget: budget });
    expect(ok.fits).toBe(true);
    expect(ok.kvBytesPerToken).toBe(2 * 16 * 8 * 64 * 4);
    const expectedMax = Math.floor((budget - ok.weightBytes - ok.activationBytes) / ok.kvBytesPerToken);
    expect(ok.maxContextTokens).toBe(expectedMax);
    expect(planMemory(llama1b, { contextTokens: expectedMax, weightType: 'f16', limits, deviceMemoryBudget: budget }).fits).toBe(true);

    const tooLong = planMemory(llama1b, { contextTokens: expectedMax + 1, weightType: 'f16', limits, deviceMemoryBudget: budget });
    expect(tooLong.fits).toBe(false);
    expect(tooLong.message).toBe(
      `This model does not fit: needs ${(tooLong.totalBytes / 1e6).toFixed(1)} MB (weights 2471.8 MB (f16), f32 KV cache for ${expectedMax + 1} tokens ${(((expectedMax + 1) * 65536) / 1e6).toFixed(1)} MB (65536 bytes per token), ` +
        `prefill scratch ${(ok.activationBytes / 1e6).toFixed(1)} MB) but the memory budget is 4000.0 MB: the largest context that fits is ${expectedMax} tokens (an f16 KV cache holds twice as many)`,
    );
    // With the f16 cache, twice the tokens (less the same weights and scratch), and no advice to switch.
    const halfKv = planMemory(llama1b, { contextTokens: 2 * expectedMax + 2, weightType: 'f16', kvType: 'f16', limits, deviceMemoryBudget: budget });
    expect(halfKv.maxContextTokens).toBe(Math.floor((budget - ok.weightBytes - ok.activationBytes) / (ok.kvBytesPerToken / 2)));
    expect(halfKv.message).toMatch(/f16 KV cache for \d+ tokens .* the largest context that fits is \d+ tokens$/);
    // The conversation's room comes out of the largest context, so a document of that size does fit beside it.
    const withRoom = { weightType: 'f16' as const, limits, deviceMemoryBudget: budget, conversationTokens: 1024 };
    const roomy = planMemory(llama1b, { ...withRoom, contextTokens: 8192 });
    expect(roomy.maxContextTokens).toBe(expectedMax - 1024);
    expect(planMemory(llama1b, { ...withRoom, contextTokens: expectedMax - 1024 }).fits).toBe(true);
    expect(planMemory(llama1b, { ...withRoom, contextTokens: expectedMax - 1023 }).message).toMatch(
      new RegExp(`KV cache for ${expectedMax - 1023} tokens and 1024 kept for the conversation .* the largest context that fits is ${expectedMax - 1024} tokens \\(an f16 KV cache holds twice as many\\)$`),
    );
    // Weights alone (the check before downloading): no KV cache in the numbers.
    expect(planMemory(llama1b, { contextTokens: 0, weightType: 'f32', limits, deviceMemoryBudget: 1e9 }).message).toMatch(
      /^This model does not fit: needs [\d.]+ MB \(weights 4943\.3 MB \(f32\), prefill scratch [\d.]+ MB\) but the memory budget is 1000\.0 MB: even the weights/,
    );
    const noRoom = planMemory(llama1b, { contextTokens: 1000, weightType: 'f32', limits, deviceMemoryBudget: 4e9 });
    expect(noRoom.maxContextTokens).toBe(0);
    expect(noRoom.message).toMatch(/even the weights and scratch alone do not fit: try bf16 or f16 weights$/);
  });

  it('checks buffers against the binding limit', () => {
    const tiny = { maxBufferSize: 2 ** 20, maxStorageBufferBindingSize: 2 ** 20 };
    const plan = planMemory(llama1b, { contextTokens: 100, weightType: 'f32', limits: tiny, prefillRows: 512 });
    expect(plan.fits).toBe(false);
    expect(plan.message).toBe(
      'This model does not fit: a prefill piece of 512 rows needs 33.6 MB buffers, more than a storage binding (1.0 MB): use fewer rows',
    );
    expect(planMemory(llama1b, { contextTokens: 100, weightType: 'f32', limits: tiny, prefillRows: 16 }).fits).toBe(true);
  });
});

describe('defaultPieceRows', () => {
  const gpu = { runsOnCpu: false, maxStorageBufferBindingSize: 2 ** 31 - 4 };
  const llama8b = parseModelConfig({ ...llamaJson, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, head_dim: 128 });
  const llama3b = parseModelConfig({ ...llamaJson, hidden_size: 3072, intermediate_size: 8192, num_attention_heads: 24, num_hidden_layers: 28, head_dim: 128 });

  it('gives a GPU pieces of 2,048 rows where their layer work and scratch allow, and planMemory counts them', () => {
    expect(defaultPieceRows(llama1b, gpu)).toBe(2048);
    const plan = (prefillRows: number) => planMemory(llama1b, { contextTokens: 0, weightType: 'bf16', limits: { ...limits, maxStorageBufferBindingSize: gpu.maxStorageBufferBindingSize }, prefillRows });
    // Per row, floats: hidden, normed, projected (3 · 2048), q and the attention output (2 · 2048), the
    // attention LSEs (32), q, k, v (3072), gate and up and the gated values (3 · 8192), id and position.
    expect(plan(2048).activationBytes).toBe(2048 * 4 * 37922 + 128256 * 4);
    expect(2048 * 4 * 37922).toBeLessThan(320e6);
  });

  it('takes fewer rows for a larger layer (the work of one submission), a wider one (scratch) or a smaller storage binding, and 512 on a CPU adapter', () => {
    // Llama 3 8B's layer holds 218 M weights, 3.6× Llama-3.2-1B's 61 M: 512 rows, as before.
    expect(defaultPieceRows(llama8b, gpu)).toBe(512);
    // Llama-3.2-3B's holds 101 M: 1,024 rows.
    expect(defaultPieceRows(llama3b, gpu)).toBe(1024);
    // 2,048 rows of Llama-3.2-1B's gate and up (16,384 floats) are 128 MiB: more than a binding of 128 MiB − 4.
    expect(defaultPieceRows(llama1b, { ...gpu, maxStorageBufferBindingSize: 128 * 2 ** 20 - 4 })).toBe(1024);
    // A layer as light as Llama-3.2-1B's but twice as wide in its MLP's scratch (scratch past 320 MB at 2,048 rows).
    const wide = parseModelConfig({ ...llamaJson, hidden_size: 1024, intermediate_size: 16384, num_attention_heads: 16, num_key_value_heads: 4 });
    expect(defaultPieceRows(wide, gpu)).toBe(1024);
    expect(defaultPieceRows(llama1b, { ...gpu, runsOnCpu: true })).toBe(512);
  });
});

describe('pieceRowsFor', () => {
  const gpu = { runsOnCpu: false, maxStorageBufferBindingSize: 2 ** 31 - 4 };
  const options = { contextTokens: 0, weightType: 'bf16' as const, limits: { ...limits, maxStorageBufferBindingSize: gpu.maxStorageBufferBindingSize } };

  it('takes the rows asked for, else the default, else 512 where the default would not fit the memory budget', () => {
    expect(pieceRowsFor(llama1b, options, gpu, 96)).toBe(96);
    expect(pieceRowsFor(llama1b, options, gpu)).toBe(2048);
    // A budget that holds the model with pieces of 512 rows but not of 2,048.
    const budget = planMemory(llama1b, { ...options, prefillRows: 512 }).totalBytes + 1;
    expect(planMemory(llama1b, { ...options, prefillRows: 2048, deviceMemoryBudget: budget }).fits).toBe(false);
    expect(pieceRowsFor(llama1b, { ...options, deviceMemoryBudget: budget }, gpu)).toBe(512);
    // On a CPU adapter, 512 whatever the budget.
    expect(pieceRowsFor(llama1b, { ...options, deviceMemoryBudget: budget }, { ...gpu, runsOnCpu: true })).toBe(512);
  });
});
