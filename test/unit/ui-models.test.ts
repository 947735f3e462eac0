import { describe, expect, it } from 'vitest';
import { demoSource, hubSource, recommendedModels, weightOptions } from '../../src/ui/models.ts';

describe('the weight format the app asks for', () => {
  it('bf16 checkpoints stay 16-bit; 4-bit builds go to groups of 128 with the embedding in CPU memory', () => {
    const bf16 = recommendedModels.find((m) => m.weights === 'bf16')!;
    const q4 = recommendedModels.find((m) => m.weights === 'q4')!;
    expect(weightOptions(hubSource(bf16.repo))).toEqual({ weightType: 'bf16' });
    expect(weightOptions(hubSource(q4.repo))).toEqual({ weightType: 'q4g128', cpuEmbedding: true });
  });

  it('a checkpoint of unknown storage (the demo, a folder, an unlisted repo) loads as the engine chooses', () => {
    expect(weightOptions(demoSource('http://localhost/'))).toEqual({});
    expect(weightOptions(hubSource('someone/unlisted-model'))).toEqual({});
  });
});
