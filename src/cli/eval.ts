// `star-reader eval ruler`: RULER-style long-context accuracy of full attention and Star Attention on
// the same generated samples (src/eval/ruler). `star-reader eval citations`: the rank of a RULER
// needle's span among the spans the answer's citations point at (src/eval/citations.ts). Progress
// goes to stderr, the table to stdout, and with --out the whole report to OUT.json and the table to OUT.md.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseOptions, UsageError, type OptionSpec } from './args.ts';
import { createReader } from '../star/reader.ts';
import { openLocalHost } from '../star/local-host.ts';
import type { AttentionMode } from '../star/reader-api.ts';
import { RULER_TASKS, rulerTask } from '../eval/ruler/tasks.ts';
import { runRuler } from '../eval/ruler/runner.ts';
import { formatMarkdown } from '../eval/ruler/report.ts';
import { megabytes, progressLine } from './progress.ts';
import { formatCitationReport, runCitationEval } from '../eval/citations.ts';
import type { Reader } from '../star/reader-api.ts';

export const evalOptions = {
  model: { type: 'string', required: true, help: 'model directory in Hub layout, with tokenizer.json' },
  lengths: { type: 'string', default: '4096,8192', help: 'target lengths in the model’s tokens (prompt + answer), comma-separated' },
  tasks: { type: 'string', default: 'all', help: `comma-separated, of ${RULER_TASKS.map((t) => t.name).join(', ')}` },
  attention: { type: 'string', default: 'full,star', help: 'attention modes to compare, comma-separated' },
  samples: { type: 'number', default: 10, help: 'samples per task and length' },
  seed: { type: 'number', default: 42, help: 'seed of the generated samples' },
  'block-size': { type: 'number', help: 'Star Attention block size (default: chosen from each document’s length)' },
  hosts: { type: 'number', default: 1, help: 'Star Attention hosts, each with its own GPU device' },
  'max-new-tokens': { type: 'number', help: 'cap on tokens generated per answer, below RULER’s (128 niah, 30 vt, 120 cwe): for smoke tests' },
  out: { type: 'string', help: 'write OUT.json (every sample and prediction) and OUT.md (the table)' },
} satisfies OptionSpec;

export const citationEvalOptions = {
  model: { type: 'string', required: true, help: 'model directory in Hub layout, with tokenizer.json' },
  length: { type: 'number', default: 4096, help: 'target length in the model’s tokens (the document, plus 256 for the question and answer)' },
  task: { type: 'string', default: 'niah_single_2', help: 'a single-needle RULER task: niah_single_1, niah_single_2 or niah_single_3' },
  samples: { type: 'number', default: 5, help: 'samples (needle depths)' },
  seed: { type: 'number', default: 42, help: 'seed of the generated samples' },
  attention: { type: 'string', default: 'star', help: 'full or star' },
  'block-size': { type: 'number', help: 'Star Attention block size (default: chosen from the document’s length)' },
  hosts: { type: 'number', default: 1, help: 'Star Attention hosts, each with its own GPU device' },
  'span-tokens': { type: 'number', default: 256, help: 'tokens per cited span (a multiple of 16)' },
  'max-new-tokens': { type: 'number', default: 32, help: 'tokens generated per answer' },
  out: { type: 'string', help: 'write OUT.json (every sample) and OUT.md (the table)' },
} satisfies OptionSpec;

const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

export async function evaluate(argv: readonly string[]): Promise<void> {
  const [suite, ...rest] = argv;
  if (suite === 'citations') return evaluateCitations(rest);
  if (suite !== 'ruler') throw new UsageError(`Unknown evaluation "${suite ?? ''}"; available: ruler, citations`);
  const o = parseOptions(rest, evalOptions);
  const lengths = list(o.lengths).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--lengths: "${s}" is not a positive integer`);
    return n;
  });
  const names = o.tasks === 'all' ? RULER_TASKS.map((t) => t.name) : list(o.tasks);
  const unknown = names.filter((name) => !RULER_TASKS.some((t) => t.name === name));
  if (unknown.length) throw new UsageError(`Unknown RULER task "${unknown.join('", "')}"; tasks: ${RULER_TASKS.map((t) => t.name).join(', ')}`);
  const modes = list(o.attention);
  if (modes.length === 0 || !modes.every((m): m is AttentionMode => m === 'full' || m === 'star')) {
    throw new UsageError(`--attention takes full, star or both, got "${o.attention}"`);
  }
  if (!Number.isInteger(o.samples) || o.samples < 1) throw new UsageError('--samples must be a positive integer');
  const cap = o['max-new-tokens'];
  if (cap !== undefined && (!Number.isInteger(cap) || cap < 1)) throw new UsageError('--max-new-tokens must be a positive integer');

  const reader = await openReader(o.model, o.hosts);
  try {
    console.error(`eval ruler: ${reader.model.name} (${reader.model.modelType}, context window ${reader.model.contextWindow}) on ${reader.model.adapter}`);
    const report = await runRuler(reader, {
      lengths,
      tasks: names.map(rulerTask),
      modes: [...new Set(modes)],
      samples: o.samples,
      seed: o.seed,
      blockSize: o['block-size'],
      hosts: o.hosts,
      maxNewTokens: o['max-new-tokens'],
      onProgress: (message) => console.error(`  ${message}`),
    });
    const markdown = formatMarkdown(report);
    if (o.out) {
      await mkdir(dirname(resolve(o.out)), { recursive: true });
      await writeFile(`${o.out}.json`, JSON.stringify(report, null, 2));
      await writeFile(`${o.out}.md`, markdown);
    }
    console.log(markdown);
  } finally {
    await reader.dispose();
  }
}

async function openReader(model: string, hosts: number): Promise<Reader> {
  const loading = progressLine('loading the model', megabytes);
  const reader = await createReader({
    model: { kind: 'directory', path: resolve(model) },
    hosts,
    openHost: openLocalHost,
    onLoadProgress: (p) => p.type === 'place' && loading.update(p.bytesDone, p.bytesTotal), // a folder on disk: nothing downloads
  });
  loading.end();
  return reader;
}

async function evaluateCitations(argv: readonly string[]): Promise<void> {
  const o = parseOptions(argv, citationEvalOptions);
  if (!/^niah_single_[123]$/.test(o.task)) throw new UsageError(`--task: "${o.task}" is not a single-needle RULER task (niah_single_1, niah_single_2, niah_single_3)`);
  if (o.attention !== 'full' && o.attention !== 'star') throw new UsageError(`--attention takes full or star, got "${o.attention}"`);
  for (const name of ['length', 'samples', 'span-tokens', 'max-new-tokens'] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 1) throw new UsageError(`--${name} must be a positive integer`);
  }
  if (o['span-tokens'] % 16 !== 0) throw new UsageError('--span-tokens must be a multiple of 16');
  const reader = await openReader(o.model, o.hosts);
  try {
    console.error(`eval citations: ${reader.model.name} (${reader.model.modelType}) on ${reader.model.adapter}`);
    const report = await runCitationEval(reader, {
      task: rulerTask(o.task),
      length: o.length,
      samples: o.samples,
      seed: o.seed,
      attention: o.attention,
      blockSize: o['block-size'],
      hosts: o.hosts,
      spanTokens: o['span-tokens'],
      maxNewTokens: o['max-new-tokens'],
      onProgress: (message) => console.error(`  ${message}`),
    });
    const markdown = formatCitationReport(report);
    if (o.out) {
      await mkdir(dirname(resolve(o.out)), { recursive: true });
      await writeFile(`${o.out}.json`, JSON.stringify(report, null, 2));
      await writeFile(`${o.out}.md`, markdown);
    }
    console.log(markdown);
  } finally {
    await reader.dispose();
  }
}
