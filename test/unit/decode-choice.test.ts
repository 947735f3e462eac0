// Which decode-attention kernel and layout each adapter gets (decodeChoice): the subgroup kernel on GPUs
// whose subgroups can hold its key groups, the workgroup-memory kernel on CPU adapters and elsewhere.
import { describe, expect, it } from 'vitest';
import { decodeChoice, type AttentionShape, type DecodeDevice } from '../../src/gpu/kernels/attention.ts';

function adapter(subgroups: boolean, min: number, max: number, runsOnCpu = false): DecodeDevice {
  return { hasSubgroups: subgroups, adapter: { runsOnCpu, subgroupSizes: { min, max } } as DecodeDevice['adapter'] };
}

const qwen: AttentionShape = { heads: 14, kvHeads: 2, headDim: 64, scale: 1 / 8 };
const llama8b: AttentionShape = { heads: 32, kvHeads: 8, headDim: 128, scale: 1 / Math.sqrt(128) };
const gemma: AttentionShape = { heads: 8, kvHeads: 4, headDim: 256, scale: 1 / 16 };
const phi2: AttentionShape = { heads: 32, kvHeads: 32, headDim: 80, scale: 1 / Math.sqrt(80) };

describe('decodeChoice', () => {
  it('a GPU with subgroups of 32: key groups of one vec4 a lane, 64 invocations, tiles of up to 4 rows without padding', () => {
    const gpu = adapter(true, 32, 32);
    // Qwen's 7 heads a group: tiles of 4 (and 3), not 8.
    expect(decodeChoice(gpu, qwen, 1, 16384, 'f16')).toMatchObject({ tileRows: 4, subgroups: { keyLanes: 8, unroll: 8, threads: 64 } });
    expect(decodeChoice(gpu, { ...qwen, heads: 6 }, 1, 16384, 'f16').tileRows).toBe(3);
    expect(decodeChoice(gpu, qwen, 3, 16384, 'f16').tileRows).toBe(4);
    expect(decodeChoice(gpu, qwen, 1, 16384, 'f32').subgroups).toEqual({ keyLanes: 16, unroll: 8, threads: 64 });
    expect(decodeChoice(gpu, llama8b, 1, 16384, 'f16')).toMatchObject({ tileRows: 4, subgroups: { keyLanes: 16, unroll: 8, threads: 64 } });
    // Rows of 512 bytes: two vec4s a lane of 16, so 2 keys in flight.
    expect(decodeChoice(gpu, gemma, 1, 16384, 'f16').subgroups).toEqual({ keyLanes: 16, unroll: 2, threads: 64 });
  });

  it('subgroups of 64 make workgroups of 64; of 4, key groups of 4 lanes', () => {
    expect(decodeChoice(adapter(true, 64, 64), qwen, 1, 4096, 'f16').subgroups).toEqual({ keyLanes: 8, unroll: 8, threads: 64 });
    expect(decodeChoice(adapter(true, 4, 4), qwen, 1, 4096, 'f16').subgroups).toEqual({ keyLanes: 4, unroll: 2, threads: 64 });
  });

  it('the workgroup-memory kernel on CPU adapters, without subgroups, for rows of no whole vec4s or too many a lane', () => {
    expect(decodeChoice(adapter(true, 8, 8, true), qwen, 1, 4096, 'f16').subgroups).toBeUndefined();
    expect(decodeChoice(adapter(false, 32, 32), qwen, 1, 4096, 'f16').subgroups).toBeUndefined();
    expect(decodeChoice(adapter(true, 0, 0), qwen, 1, 4096, 'f16').subgroups).toBeUndefined();
    expect(decodeChoice(adapter(true, 32, 32), phi2, 1, 4096, 'f16').subgroups).toBeUndefined();
    expect(decodeChoice(adapter(true, 32, 32), { ...qwen, headDim: 62 }, 1, 4096, 'f16').subgroups).toBeUndefined();
    expect(decodeChoice(adapter(true, 32, 32), { ...qwen, headDim: 62 }, 1, 4096, 'f16').tileRows).toBe(8);
  });

  it('splits: whole batches, a few per workgroup, about 512 workgroups, at most 256 partials a span; 512 on the workgroup-memory kernel', () => {
    const gpu = adapter(true, 32, 32);
    // Batches of 8 key groups × 8 keys; at least 4 batches a split.
    expect(decodeChoice(gpu, qwen, 1, 1024, 'f16')).toMatchObject({ splitKeys: 256, partials: 4 });
    // 2 kv heads × 2 tiles × 128 splits: 512 workgroups.
    expect(decodeChoice(gpu, qwen, 1, 65536, 'f16')).toMatchObject({ splitKeys: 512, partials: 128 });
    expect(decodeChoice(gpu, qwen, 1, 131072, 'f16')).toMatchObject({ splitKeys: 1024, partials: 128 });
    expect(decodeChoice(gpu, llama8b, 1, 65536, 'f16')).toMatchObject({ splitKeys: 1024, partials: 64 });
    // Past 256 partials' worth of workgroups, the cap on partials sets the split.
    expect(decodeChoice(gpu, { ...qwen, heads: 1, kvHeads: 1 }, 1, 1 << 20, 'f16')).toMatchObject({ splitKeys: 4096, partials: 256 });
    const cpu = adapter(true, 8, 8, true);
    expect(decodeChoice(cpu, qwen, 1, 65536, 'f16')).toMatchObject({ splitKeys: 128, partials: 512 });
  });
});
