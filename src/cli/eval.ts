// `star-reader eval ruler`: RULER-style long-context accuracy of full attention and Star Attention on
// the same generated samples (src/eval/ruler). Progress goes to stderr, the table to stdout, and with
// --out the whole report (every prediction) to OUT.json and the table to OUT.md.
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

const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

export async function evaluate(argv: readonly string[]): Promise<void> {
  const [suite, ...rest] = argv;
  if (suite !== 'ruler') throw new UsageError(`Unknown evaluation "${suite ?? ''}"; available: ruler`);
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

  const loading = progressLine('loading the model', megabytes);
  const reader = await createReader({
    model: { kind: 'directory', path: resolve(o.model) },
    hosts: o.hosts,
    openHost: openLocalHost,
    onLoadProgress: (p) => loading.update(p.bytesDone, p.bytesTotal),
  });
  loading.end();
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
