import { describe, expect, it } from 'vitest';
import { citedLayers } from '../../src/model/transformer.ts';

describe('citedLayers', () => {
  it('the global layers of the second half', () => {
    expect(citedLayers([undefined, undefined, undefined, undefined, undefined])).toEqual([2, 3, 4]);
    // Gemma-like: every sixth layer global.
    const gemma = Array.from({ length: 12 }, (_, i) => (i % 6 === 5 ? undefined : 512));
    expect(citedLayers(gemma)).toEqual([11]);
  });

  it('falls back to every global layer, then to the second half', () => {
    expect(citedLayers([undefined, 512, 512, 512])).toEqual([0]);
    expect(citedLayers([4096, 4096, 4096])).toEqual([1, 2]);
  });
});
