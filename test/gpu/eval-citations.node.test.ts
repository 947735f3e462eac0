// `star-reader eval citations` in process on the demo model (not trained: the ranks mean nothing, this
// checks the plumbing): needle samples fitted to the length, read, asked with citations, the needle's
// span ranked among the document's spans; the report and its table.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/cli/eval.ts';
import { needleRank, type CitationReport } from '../../src/eval/citations.ts';

const demo = decodeURIComponent(new URL('../../public/models/demo/', import.meta.url).pathname);

describe('star-reader eval citations', () => {
  it('ranks the needle span of each sample', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'star-reader-citations-')), 'citations');
    await evaluate(['citations', '--model', demo, '--length', '1024', '--samples', '2', '--span-tokens', '64', '--max-new-tokens', '3', '--block-size', '256', '--out', out]);
    const report = JSON.parse(await readFile(`${out}.json`, 'utf8')) as CitationReport;
    expect([report.task, report.length, report.attention, report.spanTokens]).toEqual(['niah_single_2', 1024, 'star', 64]);
    expect(report.samples).toHaveLength(2);
    for (const s of report.samples) {
      // The document fitted to 1024 − 256 tokens, plus the chat template's few around it.
      expect(s.documentTokens).toBeLessThanOrEqual(1024 - 256 + 32);
      expect(s.documentTokens).toBeGreaterThan(1024 - 256 - 64);
      // Spans of 64 of the document's tokens: the context's tokens less the chat template's few.
      expect((s.spans - 1) * 64).toBeLessThan(s.documentTokens);
      expect(s.spans).toBeGreaterThanOrEqual(Math.floor(s.documentTokens / 64) - 1);
      expect(s.rank).toBeGreaterThanOrEqual(1);
      expect(s.rank).toBeLessThanOrEqual(s.spans);
      expect(s.needleShare).toBeLessThanOrEqual(s.topShare);
      expect(s.needle.end).toBeGreaterThan(s.needle.start);
    }
    expect(report.meanRank).toBe((report.samples[0].rank + report.samples[1].rank) / 2);
    expect(await readFile(`${out}.md`, 'utf8')).toMatch(/\| 0 \| \d+ \| \d+ \| \d+ \|/);
  });

  it('the rank counts the spans with a larger share than the best one holding the needle', () => {
    const spans = [
      { start: 0, end: 10, share: 0.1 },
      { start: 10, end: 20, share: 0.3 },
      { start: 20, end: 30, share: 0.2 },
      { start: 30, end: 40, share: 0.25 },
    ];
    const citations = { passages: [], spans, documentShare: 0.85, tokens: 3, layers: 1 };
    // Straddling spans 2 and 3: its best is 0.25, below 0.3 only.
    expect(needleRank(citations, { start: 25, end: 35 })).toEqual({ rank: 2, spans: 4, needleShare: 0.25, topShare: 0.3, documentShare: 0.85 });
    expect(needleRank(citations, { start: 2, end: 8 }).rank).toBe(4);
    expect(needleRank(citations, { start: 12, end: 14 }).rank).toBe(1);
    expect(() => needleRank(citations, { start: 50, end: 60 })).toThrow(/No span covers the needle/);
  });
});
