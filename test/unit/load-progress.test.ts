// Loading progress as the public API sends it (typed per-file download events, then placement) and
// the one bar per phase that loadProgressBar folds them into.
import { describe, expect, it } from 'vitest';
import { loadProgressBar, type LoadProgress } from '../../src/star/reader-api.ts';

describe('loadProgressBar', () => {
  it('sums the downloads over files, then shows the placement as its own phase from 0', () => {
    const bar = loadProgressBar();
    const events: LoadProgress[] = [
      { type: 'initiate', file: 'config.json' },
      { type: 'download', file: 'config.json', bytesTotal: 100 },
      { type: 'progress', file: 'config.json', bytesDone: 100, bytesTotal: 100 },
      { type: 'done', file: 'config.json', bytes: 100 },
      { type: 'initiate', file: 'model.safetensors' },
      { type: 'download', file: 'model.safetensors', bytesTotal: 1000, resumedFrom: 400 },
      { type: 'progress', file: 'model.safetensors', bytesDone: 700, bytesTotal: 1000 },
      { type: 'done', file: 'model.safetensors', bytes: 1000 },
      { type: 'place', bytesDone: 0, bytesTotal: 900, tensor: 'model.embed_tokens.weight' },
      { type: 'place', bytesDone: 900, bytesTotal: 900, tensor: 'lm_head.weight' },
    ];
    expect(events.map(bar)).toEqual([
      { phase: 'download', bytesDone: 0, bytesTotal: 0, current: 'downloading config.json' },
      { phase: 'download', bytesDone: 0, bytesTotal: 100, current: 'downloading config.json' },
      { phase: 'download', bytesDone: 100, bytesTotal: 100, current: 'downloading config.json' },
      { phase: 'download', bytesDone: 100, bytesTotal: 100, current: 'downloading config.json' },
      { phase: 'download', bytesDone: 100, bytesTotal: 100, current: 'downloading model.safetensors' },
      { phase: 'download', bytesDone: 500, bytesTotal: 1100, current: 'continuing model.safetensors' },
      { phase: 'download', bytesDone: 800, bytesTotal: 1100, current: 'continuing model.safetensors' },
      { phase: 'download', bytesDone: 1100, bytesTotal: 1100, current: 'continuing model.safetensors' },
      { phase: 'place', bytesDone: 0, bytesTotal: 900, current: 'model.embed_tokens.weight' },
      { phase: 'place', bytesDone: 900, bytesTotal: 900, current: 'lm_head.weight' },
    ]);
  });

  it('counts a file the server does not have as done with nothing', () => {
    const bar = loadProgressBar();
    bar({ type: 'initiate', file: 'model.safetensors.index.json' });
    expect(bar({ type: 'done', file: 'model.safetensors.index.json', bytes: 0 })).toMatchObject({ bytesDone: 0, bytesTotal: 0 });
  });
});
