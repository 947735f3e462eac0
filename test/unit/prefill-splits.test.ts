// How prefill divides a span's keys (prefillSplits): enough workgroups for a GPU when a piece has few
// query rows over many keys, none on a CPU adapter, never a split under 1024 keys.
import { describe, expect, it } from 'vitest';
import { prefillMaxSplits, prefillSplits, type AttentionShape } from '../../src/gpu/kernels/attention.ts';
import type { TensorCoreDevice } from '../../src/gpu/kernels/tensor-cores.ts';

function adapter(runsOnCpu: boolean): TensorCoreDevice {
  return { adapter: { runsOnCpu }, hasF16: false, hasSubgroups: true, device: { limits: {}, features: new Set() } } as unknown as TensorCoreDevice;
}

const qwen: AttentionShape = { heads: 14, kvHeads: 2, headDim: 64, scale: 1 / 8 };
const llama: AttentionShape = { heads: 32, kvHeads: 8, headDim: 64, scale: 1 / 8 };

describe('prefillSplits', () => {
  it('a GPU: about 1024 workgroups for a piece of 512 rows, in splits of whole 64-key steps covering every key', () => {
    const gpu = adapter(false);
    // Qwen2.5-0.5B: 512 rows × 7 heads a group in tiles of 64 rows, 2 KV heads: 112 workgroups.
    expect(prefillMaxSplits(gpu, qwen, 512)).toBe(10);
    expect(prefillSplits(gpu, qwen, 512, 16384)).toEqual({ count: 10, keys: 1664 });
    // Llama-3.2-1B: 32 tiles × 8 KV heads = 256 workgroups.
    expect(prefillSplits(gpu, llama, 512, 65536)).toEqual({ count: 4, keys: 16384 });
    for (const keys of [1024, 3000, 16384, 65537]) {
      const { count, keys: each } = prefillSplits(gpu, qwen, 512, keys);
      expect(each % 64 === 0 || count === 1).toBe(true);
      expect(count * each).toBeGreaterThanOrEqual(keys);
      expect((count - 1) * each).toBeLessThan(keys);
    }
  });

  it('a GPU: a question of 30 rows in phase 2 takes the most splits, 32', () => {
    expect(prefillSplits(adapter(false), qwen, 30, 65536)).toEqual({ count: 32, keys: 2048 });
  });

  it('a GPU: no split under 2 × 1024 keys, and never more splits than 1024-key pieces', () => {
    const gpu = adapter(false);
    expect(prefillSplits(gpu, qwen, 512, 2047)).toEqual({ count: 1, keys: 2047 });
    expect(prefillSplits(gpu, qwen, 512, 3072).count).toBe(3);
    expect(prefillSplits(gpu, qwen, 512, 0)).toEqual({ count: 1, keys: 1 });
  });

  it('a CPU adapter: never split', () => {
    const cpu = adapter(true);
    expect(prefillMaxSplits(cpu, qwen, 30)).toBe(1);
    expect(prefillSplits(cpu, qwen, 30, 65536)).toEqual({ count: 1, keys: 65536 });
  });
});
