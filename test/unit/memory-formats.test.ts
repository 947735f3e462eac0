// bench/results/memory-formats.md is what planMemory says today, and where the 8 GB target for
// Llama-3.1-8B in 4 bits with a 32K f16 cache stands: within 8 GiB with q4g128 and the CPU embedding,
// not within 8·10⁹ bytes with any 4-bit layout.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { memoryFormatsMarkdown, memoryLayouts, planFor } from '../../bench/memory/memory-formats.ts';

const llama8b = memoryLayouts['Llama-3.1-8B'];
const norms = (2 * 32 + 1) * 4096 * 4;
const embedding = 128256 * 4096;

describe('memory per weight format', () => {
  it('the committed table is the memory plan\'s output (regenerate: npx tsx bench/memory/write-memory-formats.ts)', async () => {
    expect(await readFile(new URL('../../bench/results/memory-formats.md', import.meta.url), 'utf8')).toBe(memoryFormatsMarkdown());
  });

  it('Llama-3.1-8B: q4 takes 0.625 bytes a weight, q4g128 0.53125 (norms aside), the 32K f16 cache 2 bytes a K/V element', () => {
    const weights = (planFor(llama8b, 'f32', 'f16').weightBytes - norms) / 4;
    expect(planFor(llama8b, 'q4', 'f16').weightBytes).toBe(weights * 0.625 + norms);
    expect(planFor(llama8b, 'q4g128', 'f16').weightBytes).toBe(weights * 0.53125 + norms);
    expect(planFor(llama8b, 'q4', 'f16').kvBytes).toBe(32768 * 2 * 32 * 8 * 128 * 2);
    expect(weights).toBeGreaterThan(8e9); // 8.03 B parameters
  });

  it('the CPU embedding takes the input table off the GPU of the untied 8B, and nothing off the tied layouts', () => {
    const onCpu = planFor(llama8b, 'q4g128', 'f16', true);
    expect(planFor(llama8b, 'q4g128', 'f16').weightBytes - onCpu.weightBytes).toBe(embedding * 0.53125);
    expect(onCpu.cpuWeightBytes).toBe(embedding * 0.53125);
    for (const name of ['Qwen2.5-0.5B', 'Llama-3.2-1B']) expect(planFor(memoryLayouts[name], 'q4g128', 'f16', true)).toEqual(planFor(memoryLayouts[name], 'q4g128', 'f16'));
  });

  it('q4g128 with the CPU embedding fits 8 GiB beside the 32K f16 cache, but not 8·10⁹ bytes', () => {
    const total = planFor(llama8b, 'q4g128', 'f16', true).totalBytes;
    expect(total).toBeLessThanOrEqual(8 * 2 ** 30);
    expect(total).toBeGreaterThan(8e9);
    expect(planFor(llama8b, 'q4g128', 'f16').totalBytes).toBeGreaterThan(8 * 2 ** 30);
    expect(planFor(llama8b, 'q4', 'f16', true).totalBytes).toBeGreaterThan(8 * 2 ** 30);
  });
});
