// Save/reopen vs phase 1 in Node (Dawn): the synthetic model (Qwen2.5-0.5B attention layout, 2 layers),
// in-process hosts, the folder store.
//   npx tsx bench/saved/node.ts [--lengths 4096,16384] [--hosts 1] [--model DIR (a Hub-layout model instead)]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { StarEngine } from '../../src/star/star-engine.ts';
import { openLocalHost } from '../../src/star/local-host.ts';
import { folderDocumentStore } from '../../src/star/document-store.node.ts';
import { openDirectorySource } from '../../src/model/source/directory-source.node.ts';
import { qwen25HalfBLayout } from '../../src/model/synthetic-weights.ts';
import { writeSyntheticModel } from '../../src/cli/synthetic-model.ts';
import { formatSaveReopenRows, measureSaveReopen } from './measure.ts';

const { values } = parseArgs({ options: { lengths: { type: 'string', default: '16384' }, hosts: { type: 'string', default: '1' }, model: { type: 'string' } } });
const lengths = values.lengths.split(',').map(Number);
const hosts = Number(values.hosts);
const model = values.model ?? (await writeSyntheticModel(qwen25HalfBLayout));
const modelName = values.model ?? `${qwen25HalfBLayout.name}, ${qwen25HalfBLayout.layers} layers`;
const folder = await mkdtemp(join(tmpdir(), 'star-reader-saved-bench-'));
try {
  const open = () => StarEngine.create({ model: { kind: 'directory', path: model }, hosts, openHost: openLocalHost, conversationRoom: 64 });
  const probe = await open();
  const adapter = `${probe.info.adapter.description} (Node, Dawn); model: ${modelName}`;
  await probe.dispose();
  const rows = await measureSaveReopen(open, openDirectorySource(model), folderDocumentStore(folder), {
    lengths,
    blockSize: (n) => Math.min(2048, n),
    hosts,
    say: (line) => console.error(line),
  });
  console.log(formatSaveReopenRows(adapter, `folder (${tmpdir()})`, rows));
} finally {
  await rm(folder, { recursive: true, force: true });
  if (!values.model) await rm(model, { recursive: true, force: true });
}
