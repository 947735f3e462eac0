// bench/results/memory-formats.md is what planMemory says today, and the 8 GB target holds.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { memoryFormatsMarkdown, memoryLayouts, planFor, q4WeightBytes } from '../../bench/memory/memory-formats.ts';

describe('memory per weight format', () => {
  it('the committed table is the memory plan\'s output (regenerate: npx tsx bench/memory/write-memory-formats.ts)', async () => {
    expect(await readFile(new URL('../../bench/results/memory-formats.md', import.meta.url), 'utf8')).toBe(memoryFormatsMarkdown());
  });

  it('Llama-3.1-8B: q4 weights take 0.625 bytes a weight (norms aside), the 32K f16 cache 2 bytes a K/V element', () => {
    const llama8b = memoryLayouts['Llama-3.1-8B'];
    const norms = (2 * 32 + 1) * 4096 * 4;
    const weights = (planFor(llama8b, 'f32', 'f16').weightBytes - norms) / 4;
    expect(planFor(llama8b, 'q4', 'f16').weightBytes).toBe(weights * 0.625 + norms);
    expect(planFor(llama8b, 'q4', 'f16').kvBytes).toBe(32768 * 2 * 32 * 8 * 128 * 2);
    expect(weights).toBeGreaterThan(8e9); // 8.03 B parameters
  });

  it('the layouts that would fit 8 GiB count as the plan does: groups of 32 on the GPU is q4 today', () => {
    for (const config of Object.values(memoryLayouts)) expect(q4WeightBytes(config, 32, true)).toBe(planFor(config, 'q4', 'f16').weightBytes);
    const llama8b = memoryLayouts['Llama-3.1-8B'];
    const embedding = 128256 * 4096;
    expect(q4WeightBytes(llama8b, 32, true) - q4WeightBytes(llama8b, 32, false)).toBe(embedding * (0.5 + 4 / 32));
    expect(q4WeightBytes(llama8b, 32, true) - q4WeightBytes(llama8b, 128, true)).toBe((planFor(llama8b, 'f32', 'f16').weightBytes - (2 * 32 + 1) * 4096 * 4) / 4 * (4 / 32 - 4 / 128));
  });
});
