// `star-reader eval ruler` run in process on the demo model (not trained: it quotes the document, so
// its scores mean nothing: this checks the plumbing). Samples fitted to each length in the
// model's tokens, full and Star Attention over the same sample, scores and the table; the samples
// regenerate from the seed with their needles in place.
import { mkdtemp, readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/cli/eval.ts';
import type { RulerReport } from '../../src/eval/ruler/runner.ts';
import { rulerTask } from '../../src/eval/ruler/tasks.ts';
import { stringMatchAll, taskScore } from '../../src/eval/ruler/score.ts';
import { createTokenizer } from '../../src/model/tokenizer.ts';

const demo = decodeURIComponent(new URL('../../public/models/demo/', import.meta.url).pathname);
const demoTokenizer = createTokenizer(
  JSON.parse(readFileSync(join(demo, 'tokenizer.json'), 'utf8')),
  JSON.parse(readFileSync(join(demo, 'tokenizer_config.json'), 'utf8')),
);
const countTokens = (text: string) => demoTokenizer.encode(text, { addSpecialTokens: false }).length;

describe('star-reader eval ruler', () => {
  it('scores full and Star Attention on the same samples, fitted to each length', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'star-reader-ruler-')), 'ruler');
    const lengths = [1024, 1280];
    const tasks = ['niah_single_1', 'vt'];
    await evaluate(['ruler', '--model', demo, '--lengths', lengths.join(','), '--tasks', tasks.join(','), '--samples', '1', '--seed', '7']
      .concat(['--block-size', '128', '--max-new-tokens', '6', '--out', out]));
    const report = JSON.parse(await readFile(`${out}.json`, 'utf8')) as RulerReport;
    expect(report.modes).toEqual(['full', 'star']);
    expect(report.results.map((r) => [r.task, r.length])).toEqual(lengths.flatMap((n) => tasks.map((t) => [t, n])));

    for (const result of report.results) {
      const task = rulerTask(result.task);
      expect(result.samples).toHaveLength(1);
      const [s] = result.samples;
      // Fitted: the prompt and RULER's answer room fill the length to within one filler unit (a ~90-byte noise line).
      expect(s.tokens + task.maxNewTokens).toBeLessThanOrEqual(result.length);
      expect(s.tokens + task.maxNewTokens).toBeGreaterThan(result.length - 100);
      // Full attention is one block of the whole document; Star Attention blocks of 128.
      const { full, star } = s.runs;
      expect([full!.blocks, full!.blockSize]).toEqual([1, s.documentTokens]);
      expect([star!.blocks, star!.blockSize]).toEqual([Math.ceil(s.documentTokens / 128), 128]);
      for (const run of [full!, star!]) {
        expect(run.generatedTokens).toBeLessThanOrEqual(6);
        expect(run.score).toBe(stringMatchAll(run.prediction, s.references) * 100);
      }
      for (const mode of ['full', 'star'] as const) {
        expect(result.scores[mode]).toBe(taskScore([{ prediction: s.runs[mode]!.prediction, references: s.references }]));
        expect(result.scores[mode]).toBeGreaterThanOrEqual(0);
        expect(result.scores[mode]).toBeLessThanOrEqual(100);
      }
      // The sample regenerates from the seed, and its answers are in the document.
      const sample = task.generator({ seed: 7, length: result.length, countTokens })(0, s.units);
      expect(sample.references).toEqual(s.references);
      expect(s.references.length).toBeGreaterThan(0);
      for (const reference of s.references) expect(sample.document).toContain(reference);
    }

    const table = (await readFile(`${out}.md`, 'utf8')).split('\n');
    expect(table[2]).toBe('| task | 1024 full | 1024 star | 1024 star/full | 1280 full | 1280 star | 1280 star/full |');
    for (const row of [...tasks, '**average**']) expect(table.some((l) => l.startsWith(`| ${row} | `))).toBe(true);
  });

  it('refuses lengths beyond the model’s context window, and unknown tasks', async () => {
    await expect(evaluate(['ruler', '--model', demo, '--lengths', '40000', '--tasks', 'vt'])).rejects.toThrow(
      /40000 tokens exceed .*context window of 32768 tokens/,
    );
    await expect(evaluate(['ruler', '--model', demo, '--tasks', 'qa_1'])).rejects.toThrow(/Unknown RULER task "qa_1"/);
    await expect(evaluate(['niah', '--model', demo])).rejects.toThrow(/Unknown evaluation "niah"; available: ruler/);
  });
});
