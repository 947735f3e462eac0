// Do citations point at the source? On RULER needle-in-a-haystack samples (src/eval/ruler) the answer's
// source is known: the needle. Each sample is read, asked greedily with citations on every span, and
// scored by the rank of the needle's span among the document's spans by share (1: the model's
// attention went most to the needle). Only a model that retrieves the needle can be expected to rank
// it first: the report gives, next to the rank, whether the answer holds the needle's value.
import type { AnswerCitations, AnswerStats, AttentionMode, Reader } from '../star/reader-api.ts';
import { fitUnits } from './ruler/haystack.ts';
import { stringMatchAll } from './ruler/score.ts';
import type { RulerTask } from './ruler/task.ts';

export interface CitationEvalOptions {
  task: RulerTask;
  /** Target length in tokens: the document, with room for the question and the answer. */
  length: number;
  samples: number;
  seed: number;
  attention: AttentionMode;
  blockSize?: number;
  hosts?: number;
  spanTokens: number;
  maxNewTokens: number;
  onProgress?: (message: string) => void;
}

export interface CitationSampleResult {
  index: number;
  documentTokens: number;
  /** The needle's characters in the document. */
  needle: { start: number; end: number };
  /** 1-based rank of the needle's span by share among the document's spans (the best of two it straddles). */
  rank: number;
  spans: number;
  needleShare: number;
  topShare: number;
  documentShare: number;
  prediction: string;
  /** The answer holds every reference (RULER's string_match_all). */
  correct: boolean;
}

export interface CitationReport {
  task: string;
  length: number;
  attention: AttentionMode;
  spanTokens: number;
  samples: CitationSampleResult[];
  /** Share of samples whose needle span ranked first, and the mean rank. */
  top1: number;
  meanRank: number;
}

/** Room left in `length` for the template, the question and the answer. */
const promptRoom = 256;
const GREEDY = { temperature: 0, repetitionPenalty: 1 };

export async function runCitationEval(reader: Reader, o: CitationEvalOptions): Promise<CitationReport> {
  if (o.length > reader.model.contextWindow) throw new RangeError(`${o.length} tokens exceed ${reader.model.name}'s context window of ${reader.model.contextWindow}`);
  const generate = o.task.generator({ seed: o.seed, length: o.length, countTokens: (text) => reader.countTokens(text) });
  const budget = o.length - promptRoom;
  const samples: CitationSampleResult[] = [];
  let guess: number | undefined;
  for (let index = 0; index < o.samples; index++) {
    const fit = fitUnits((units) => generate(index, units), (s) => reader.countTokens(s.document), budget, { min: o.task.minUnits, max: o.task.maxUnits, guess });
    if (!fit) throw new RangeError(`${o.length} tokens are too few for a ${o.task.name} sample with ${promptRoom} tokens of room for the question and answer`);
    guess = fit.units;
    const sample = fit.value;
    const at = sample.document.indexOf(sample.references[0]);
    if (at < 0) throw new Error(`${o.task.name} sample ${index}: its reference is not in the document`);
    // The needle is the sentence that holds the reference.
    const start = sample.document.lastIndexOf('One of the special magic', at);
    const needle = { start: start < 0 ? at : start, end: at + sample.references[0].length };
    const encoded = await reader.loadDocument(sample.document, { attention: o.attention, blockSize: o.blockSize, hosts: o.hosts });
    const { text, stats } = await answer(reader, sample.question, sample.answerPrefix.trimStart(), o);
    if (!stats.citations) throw new Error(`${o.task.name} sample ${index}: the reader gave no citations`);
    const result = { index, documentTokens: encoded.tokens, needle, prediction: text, correct: stringMatchAll(text, sample.references) === 1, ...needleRank(stats.citations, needle) };
    samples.push(result);
    o.onProgress?.(`sample ${index}: needle span ranked ${result.rank} of ${result.spans} (share ${(result.needleShare * 100).toFixed(1)}%, top ${(result.topShare * 100).toFixed(1)}%), answer ${result.correct ? 'right' : 'wrong'}`);
  }
  return {
    task: o.task.name,
    length: o.length,
    attention: o.attention,
    spanTokens: o.spanTokens,
    samples,
    top1: samples.filter((s) => s.rank === 1).length / samples.length,
    meanRank: samples.reduce((sum, s) => sum + s.rank, 0) / samples.length,
  };
}

/** The rank of the best-shared span overlapping `needle` among all the document's spans. */
export function needleRank(citations: AnswerCitations, needle: { start: number; end: number }): Pick<CitationSampleResult, 'rank' | 'spans' | 'needleShare' | 'topShare' | 'documentShare'> {
  const { spans } = citations;
  const holding = spans.filter((s) => s.start < needle.end && needle.start < s.end);
  if (holding.length === 0) throw new Error(`No span covers the needle at characters ${needle.start}–${needle.end}`);
  const needleShare = Math.max(...holding.map((s) => s.share));
  return {
    rank: 1 + spans.filter((s) => s.share > needleShare).length,
    spans: spans.length,
    needleShare,
    topShare: Math.max(...spans.map((s) => s.share)),
    documentShare: citations.documentShare,
  };
}

async function answer(reader: Reader, question: string, answerPrefix: string, o: CitationEvalOptions): Promise<{ text: string; stats: AnswerStats }> {
  const maxTokens = Math.min(o.task.maxNewTokens, o.maxNewTokens);
  const stream = reader.ask(question, { maxTokens, sampling: GREEDY, answerPrefix, citations: { top: 3, spanTokens: o.spanTokens } });
  let text = '';
  for (;;) {
    const next = await stream.next();
    if (next.done) return { text, stats: next.value };
    text += next.value;
  }
}

/** The report as a Markdown table, one row per sample. */
export function formatCitationReport(r: CitationReport): string {
  const lines = [
    `# Citations: ${r.task}, ${r.length} tokens, ${r.attention} attention, spans of ${r.spanTokens} tokens`,
    '',
    `Needle span first in ${(r.top1 * 100).toFixed(0)}% of ${r.samples.length} samples; mean rank ${r.meanRank.toFixed(2)}.`,
    '',
    '| sample | document tokens | needle rank | spans | needle share | top share | to the document | answer |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  for (const s of r.samples) {
    lines.push(`| ${s.index} | ${s.documentTokens} | ${s.rank} | ${s.spans} | ${pct(s.needleShare)} | ${pct(s.topShare)} | ${pct(s.documentShare)} | ${s.correct ? 'right' : 'wrong'} |`);
  }
  return `${lines.join('\n')}\n`;
}
