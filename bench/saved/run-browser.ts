// Runs bench/saved/browser.html in Chromium (SwiftShader here) and prints the markdown table.
//   npx tsx bench/saved/run-browser.ts [--lengths 1024] [--hosts 1]
import { parseArgs } from 'node:util';
import { runBenchPage } from '../browser/run-page.ts';
import { qwen25HalfBLayout } from '../../src/model/synthetic-weights.ts';
import { formatSaveReopenRows, type SaveReopenRow } from './measure.ts';

const { values } = parseArgs({ options: { lengths: { type: 'string', default: '1024' }, hosts: { type: 'string', default: '1' } } });
const { result, adapter } = await runBenchPage<SaveReopenRow[]>('bench/saved/browser.html', {
  query: { lengths: values.lengths, hosts: values.hosts },
  timeoutMs: 60 * 60_000,
});
console.log(formatSaveReopenRows(`${adapter}; model: ${qwen25HalfBLayout.name}, ${qwen25HalfBLayout.layers} layers`, 'OPFS, written by the host Workers', result));
