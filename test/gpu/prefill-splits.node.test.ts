// Node only (the split path is the same code in Chromium, and CI's adapters never take it alone).
// A GPU splits a long span's keys over more workgroups in prefill (prefillSplits) and merges the
// splits; CPU adapters do not. The same device seen as a GPU must give the logits of the unsplit
// run, over a cache in two chunks: two spans, each in splits, their slots in one merge.
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { KvCache } from '../../src/model/kv-cache.ts';
import { Transformer } from '../../src/model/transformer.ts';
import { loadWeights } from '../../src/model/weights.ts';
import { fixtureConfig, fixtureSource } from '../support/fixtures.ts';
import { testGpu } from '../support/gpu.ts';
import { maxAbsDiff } from '../support/random.ts';

const model = 'tiny-qwen2';

/**
 * `gpu` as the kernels see it: with `asGpu`, an adapter report that says GPU, so that they choose as
 * they would on one; with `dispatched`, the label of every pipeline dispatched is added there.
 */
function viewOf(gpu: Gpu, options: { asGpu: boolean; dispatched?: string[] }): Gpu {
  const adapter = { ...gpu.adapter, runsOnCpu: !options.asGpu && gpu.adapter.runsOnCpu };
  const { dispatched } = options;
  return new Proxy(gpu, {
    get(target, key) {
      if (key === 'adapter') return adapter;
      if (key === 'dispatch' && dispatched) {
        return (...args: Parameters<Gpu['dispatch']>) => {
          dispatched.push(args[1].label);
          target.dispatch(...args);
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('prefill attention in key splits (as on a GPU)', () => {
  it('gives the unsplit logits over two spans in splits, and merges the splits', async () => {
    const gpu = await testGpu();
    const config = await fixtureConfig(model);
    const weights = await loadWeights(gpu, await fixtureSource(model), config);
    const asGpu = viewOf(gpu, { asGpu: true });
    const shape = { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim, dtype: 'f32' as const };
    const rowBytes = config.kvHeads * config.headDim * 4;
    const tokens = 4600;
    const ids = Array.from({ length: tokens }, (_, i) => (i * 7919 + 3) % config.vocab);
    // Chunks of 2300 rows: the last pieces see two spans of 2300 keys, two splits each.
    const chunkRows = 2300;
    const logits: Float32Array[] = [];
    const dispatches: number[] = [];
    for (const device of [gpu, asGpu]) {
      // Pieces of 512 rows, as a CPU adapter takes them (seen as a GPU, a piece would take 2,048).
      const transformer = new Transformer(device, config, weights, { maxRows: 512 });
      const cache = new KvCache(device, shape, tokens, 1, chunkRows * rowBytes);
      const before = gpu.counters.dispatches;
      const out = await transformer.forward({ ids, firstPosition: 0, cache, attention: { kind: 'causal' }, logits: 'last' });
      logits.push(await gpu.readF32(out!));
      dispatches.push(gpu.counters.dispatches - before);
      cache.destroy();
      transformer.destroy();
    }
    // Both merge two spans where a piece sees both; the split run also merges where a piece sees one
    // span of 2048 keys or more, so it dispatches more.
    expect(dispatches[1]).toBeGreaterThan(dispatches[0]);
    expect(maxAbsDiff(logits[1], logits[0])).toBeLessThan(1e-4);
    weights.destroy();
  });
});

describe('Star Attention phase 1 in key splits (as on a GPU)', () => {
  it('splits the first piece of a block longer than a piece over the anchor, with the logits of the one-pass kernel', async () => {
    const gpu = await testGpu();
    const config = await fixtureConfig(model);
    const weights = await loadWeights(gpu, await fixtureSource(model), config);
    const shape = { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim, dtype: 'f32' as const };
    // Blocks of 2048 (pieces of 512: a block's first piece sees an anchor of two splits) and a last
    // block of 100 rows, also a piece shorter than its block.
    const blockSize = 2048;
    const tokens = 2 * blockSize + 100;
    const ids = Array.from({ length: tokens }, (_, i) => (i * 7919 + 5) % config.vocab);
    const runs: { logits: Float32Array; dispatched: string[] }[] = [];
    for (const asGpu of [false, true]) {
      const dispatched: string[] = [];
      const device = viewOf(gpu, { asGpu, dispatched });
      // Pieces of 512 rows, as a CPU adapter takes them (seen as a GPU, a piece would take 2,048).
      const transformer = new Transformer(device, config, weights, { maxRows: 512 });
      const cache = new KvCache(device, shape, tokens, blockSize);
      await transformer.forward({ ids: ids.slice(0, blockSize), firstPosition: 0, cache, attention: { kind: 'causal' }, logits: 'none' });
      const attention = { kind: 'star-blocks' as const, blockSize, anchorRows: blockSize, anchorCache: cache };
      const out = await transformer.forward({ ids: ids.slice(blockSize), firstPosition: blockSize, cache, attention, logits: 'last' });
      runs.push({ logits: await gpu.readF32(out!), dispatched });
      cache.destroy();
      transformer.destroy();
    }
    const [cpu, split] = runs;
    const blockAnchor = (r: (typeof runs)[number]) => r.dispatched.filter((label) => label === 'attention_block_anchor').length;
    // One pass per layer for each block's first piece on the CPU adapter; none as a GPU, where those
    // pieces are merged from splits.
    expect(blockAnchor(cpu)).toBe(2 * config.layers);
    expect(blockAnchor(split)).toBe(0);
    expect(split.dispatched.filter((label) => label === 'lse_merge').length).toBeGreaterThan(cpu.dispatched.filter((label) => label === 'lse_merge').length);
    expect(maxAbsDiff(split.logits, cpu.logits)).toBeLessThan(1e-4);
    weights.destroy();
  });
});
