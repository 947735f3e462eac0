// Which projections loadWeights may store one after another as one matrix (fusableRows): each must
// start on whole words of data and of scales, and the whole must fit one storage binding.
import { describe, expect, it } from 'vitest';
import { fusableRows } from '../../src/model/weights.ts';

describe('fusableRows', () => {
  const binding = 128 << 20;
  it('Qwen2.5-0.5B-shaped q, k, v and gate, up in every format', () => {
    for (const format of ['f32', 'f16', 'bf16', 'q8', 'q4', 'q4g128'] as const) {
      expect(fusableRows(format, [896, 128, 128], 896, binding)).toBe(true);
      expect(fusableRows(format, [4864, 4864], 896, binding)).toBe(true);
    }
  });
  it('q8: an odd number of 32-element groups before a matrix would share a scale word (two f16 scales a word)', () => {
    // 3 rows of 32: 3 groups, so the second matrix's first scale would be the high half of a word.
    expect(fusableRows('q8', [3, 2], 32, binding)).toBe(false);
    expect(fusableRows('q8', [2, 3], 32, binding)).toBe(true); // the last may end mid-word
    expect(fusableRows('q4', [3, 2], 32, binding)).toBe(true); // a word per group
  });
  it('16 bits: an odd number of elements before a matrix would start it mid-word (rows loadWeights refuses)', () => {
    expect(fusableRows('f16', [3, 5], 4, binding)).toBe(true);
    expect(fusableRows('f16', [3, 5], 3, binding)).toBe(false);
  });
  it('the whole matrix, or its scales, larger than one binding', () => {
    expect(fusableRows('f32', [100, 100], 64, 200 * 64 * 4)).toBe(true);
    expect(fusableRows('f32', [100, 101], 64, 200 * 64 * 4)).toBe(false);
  });
});
