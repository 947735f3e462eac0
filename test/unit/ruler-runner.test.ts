// The RULER runner on a stand-in reader that solves the tasks from the document it was given — in
// full attention completely, in star attention with only the first answer it finds — so the whole
// flow (fitting, both modes over one sample, scoring, the table) is checked without a GPU.
import { describe, expect, it } from 'vitest';
import { runRuler } from '../../src/eval/ruler/runner.ts';
import { averages, formatMarkdown, starFullRatio } from '../../src/eval/ruler/report.ts';
import { RULER_TASKS, rulerTask } from '../../src/eval/ruler/tasks.ts';
import { answerStream, type AnswerStats, type AttentionMode, type EncodeStats, type Reader } from '../../src/star/reader-api.ts';

const tokens = (text: string) => text.match(/\w+|[^\w\s]/g)?.length ?? 0;

/** Finds the answers a perfect reader would give. */
function solve(document: string, question: string): string[] {
  const keys = /for (.+) mentioned in the provided text\?/.exec(question);
  if (keys) {
    return keys[1].split(/, and |, /).flatMap((key) => [...document.matchAll(new RegExp(`for ${key} is: (\\S+)\\.`, 'g'))].map((m) => m[1]));
  }
  const value = /assigned the value (\d+) in the text above/.exec(question);
  if (value) {
    const task = document.slice(document.lastIndexOf('following text.\n\n'));
    const held: string[] = [];
    for (const [, name, from] of task.matchAll(/VAR ([A-Z]+) = (?:VAR )?([A-Z]+|\d+)/g)) if (from === value[1] || held.includes(from)) held.push(name);
    return held;
  }
  const list = document.slice(document.lastIndexOf('most often.\n'));
  const counts = new Map<string, number>();
  for (const [, word] of list.matchAll(/\d+\. ([a-z]+)/g)) counts.set(word, (counts.get(word) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([word]) => word);
}

function oracleReader(contextWindow = 20_000): Reader & { encoded: { document: string; mode: AttentionMode }[] } {
  let document = '';
  let mode: AttentionMode = 'star';
  const encoded: { document: string; mode: AttentionMode }[] = [];
  return {
    encoded,
    model: { name: 'oracle', modelType: 'none', parameters: 0, contextWindow, weightBytes: 0, adapter: 'none' },
    countTokens: tokens,
    async loadDocument(text, options = {}) {
      document = text as string;
      mode = options.attention ?? 'star';
      encoded.push({ document, mode });
      const n = tokens(document) + 7; // a chat template's header
      return { tokens: n, blocks: mode === 'full' ? 1 : 4, blockSize: Math.ceil(n / 4), hosts: 1, attention: mode, encodeMs: 1 } as EncodeStats;
    },
    ask: (question, options = {}) => answerStream((async function* (): AsyncGenerator<string, AnswerStats> {
      const answers = solve(document, question);
      const text = (mode === 'full' ? answers : answers.slice(0, 1)).join(', ');
      if (options.maxTokens) yield text;
      return { promptTokens: tokens(question) + 5, generatedTokens: tokens(text), queryMs: 1, decodeTokensPerSecond: 1, stoppedBy: 'eos' };
    })()),
    async resetConversation() {},
    async dispose() {},
  };
}

describe('runRuler', () => {
  it('runs every mode over the same fitted sample and scores them as RULER does', async () => {
    const reader = oracleReader();
    const progress: string[] = [];
    const report = await runRuler(reader, {
      lengths: [4096, 8192],
      tasks: RULER_TASKS,
      modes: ['full', 'star'],
      samples: 2,
      seed: 5,
      onProgress: (m) => progress.push(m),
    });
    expect(report.results).toHaveLength(2 * RULER_TASKS.length);
    expect(progress).toHaveLength(2 * 2 * RULER_TASKS.length);
    // The probe of the template's overhead, then full and star on each sample's same document.
    const runs = reader.encoded.slice(1);
    expect(runs).toHaveLength(2 * 2 * 2 * RULER_TASKS.length);
    for (let i = 0; i < runs.length; i += 2) {
      expect([runs[i].mode, runs[i + 1].mode]).toEqual(['full', 'star']);
      expect(runs[i + 1].document).toBe(runs[i].document);
    }
    // First answers only: one of one value, one of four, one of five variables, one of ten words.
    const starScore: Record<string, number> = { niah_multivalue: 25, niah_multiquery: 25, vt: 20, cwe: 10 };
    for (const result of report.results) {
      const task = rulerTask(result.task);
      expect(result.scores.full).toBe(100);
      expect(result.scores.star).toBe(starScore[result.task] ?? 100);
      expect(starFullRatio(result.scores)).toBe((starScore[result.task] ?? 100) / 100);
      for (const s of result.samples) {
        expect(s.runs.full!.blocks).toBe(1);
        expect(s.runs.star!.blocks).toBe(4);
        expect(s.tokens + task.maxNewTokens).toBeLessThanOrEqual(result.length);
        expect(s.tokens + task.maxNewTokens).toBeGreaterThan(result.length - 60);
      }
    }
    const mean = averages(report).get(4096)!;
    expect(mean.full).toBe(100);
    expect(mean.star).toBeCloseTo((6 * 100 + 25 + 25 + 20 + 10) / 10, 10);

    const table = formatMarkdown(report).split('\n');
    expect(table[2]).toBe('| task | 4096 full | 4096 star | 4096 star/full | 8192 full | 8192 star | 8192 star/full |');
    expect(table).toContain('| vt | 100.00 | 20.00 | 0.200 | 100.00 | 20.00 | 0.200 |');
    expect(table).toContain('| **average** | 100.00 | 68.00 | 0.680 | 100.00 | 68.00 | 0.680 |');
  });

  it('feeds the question with RULER’s answer prefix and caps answers when asked', async () => {
    const reader = oracleReader();
    const asked: { query: string; answerPrefix?: string; maxTokens?: number }[] = [];
    const ask = reader.ask.bind(reader);
    reader.ask = (query, options) => (asked.push({ query, answerPrefix: options?.answerPrefix, maxTokens: options?.maxTokens }), ask(query, options));
    const report = await runRuler(reader, { lengths: [2048], tasks: [rulerTask('vt')], modes: ['star'], samples: 1, seed: 1, maxNewTokens: 4 });
    expect(asked[1].query).toMatch(/^Question: Find all variables that are assigned the value \d+ in the text above\.$/);
    // After the assistant header, as RULER's templates put it, without the space that follows the question.
    expect(asked[1].answerPrefix).toMatch(/^Answer: According to .* they are: $/);
    expect(asked[1].maxTokens).toBe(4);
    expect(report.maxNewTokens).toBe(4);
    expect(formatMarkdown(report)).toContain('answers capped at 4 tokens');
  });

  it('refuses lengths beyond the context window and lengths too short for a task', async () => {
    const options = { tasks: [rulerTask('niah_single_1')], modes: ['full'] as AttentionMode[], samples: 1, seed: 1 };
    await expect(runRuler(oracleReader(4096), { ...options, lengths: [2048, 8192] })).rejects.toThrow(
      "8192 tokens exceed oracle's context window of 4096 tokens (max_position_embeddings)",
    );
    await expect(runRuler(oracleReader(), { ...options, lengths: [150] })).rejects.toThrow(/150 tokens is too short for niah_single_1: its prompt takes \d+ tokens without filler/);
    // A task that cannot fit one of the lengths is refused before any sample is read.
    const reader = oracleReader();
    await expect(runRuler(reader, { ...options, tasks: [rulerTask('niah_single_1'), rulerTask('cwe')], lengths: [4096, 512] })).rejects.toThrow(/512 tokens is too short for cwe/);
    expect(reader.encoded.map((e) => e.document)).toEqual(['Hello']);
  });
});
