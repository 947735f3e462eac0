// `npm run bench:ort`: our attention_prefill against onnxruntime-web's WebGPU GroupQueryAttention in one
// Chromium page (bench/ort/attention.html), same shapes, same adapter. `-- --quick`: Qwen2.5-0.5B heads at
// 256 and 512 tokens; `--layouts qwen,llama`, `--lengths 256,512`, `--repeat 3`, `--tiles default,64/1/16`
// (our kernel's tile candidates, all timed in every round) are passed to the page. Refuses to write
// timings of outputs that disagree. Writes bench/results/ort-attention(-quick)(-tiles).json and .md.
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { runBenchPage } from '../browser/run-page.ts';
import { disagreement, formatMarkdown, type OrtAttentionReport } from './report.ts';

const { values } = parseArgs({
  options: { quick: { type: 'boolean' }, layouts: { type: 'string' }, lengths: { type: 'string' }, repeat: { type: 'string' }, tiles: { type: 'string' } },
});
const { quick, ...rest } = values;
const query: Record<string, string> = { ...rest, ...(quick ? { quick: '1' } : {}) };
const { result, adapter } = await runBenchPage<OrtAttentionReport>('bench/ort/attention.html', { query });
const report = { date: new Date().toISOString(), browser: adapter, ...result };
const problem = disagreement(report);
if (problem) throw new Error(problem);
const out = `bench/results/ort-attention${quick ? '-quick' : ''}${values.tiles ? '-tiles' : ''}`;
await mkdir('bench/results', { recursive: true });
await writeFile(`${out}.json`, JSON.stringify(report, null, 2));
const markdown = formatMarkdown(report);
await writeFile(`${out}.md`, markdown);
console.log(markdown);
