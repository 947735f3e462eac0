// Save/reopen vs phase 1 in a browser page: the synthetic model in memory, hosts in Workers writing
// their shards straight to OPFS. Query: lengths (comma-separated), hosts. Opened by run-browser.ts.
import { qwen25HalfBLayout, syntheticModelFiles } from '../../src/model/synthetic-weights.ts';
import { StarEngine } from '../../src/star/star-engine.ts';
import { openWorkerHost } from '../../src/star/worker-host.ts';
import { opfsDocumentStore } from '../../src/star/document-store.opfs.ts';
import { openFileSource } from '../../src/model/source/file-source.ts';
import { runBenchmarkPage, type Say } from '../browser/page.ts';
import { measureSaveReopen, type SaveReopenRow } from './measure.ts';

async function main(say: Say): Promise<SaveReopenRow[]> {
  const query = new URLSearchParams(location.search);
  const lengths = (query.get('lengths') ?? '1024').split(',').map(Number);
  const hosts = Number(query.get('hosts') ?? '1');
  const files = new Map([...syntheticModelFiles(qwen25HalfBLayout)].map(([name, bytes]) => [name, new File([bytes as Uint8Array<ArrayBuffer>], name)]));
  const open = () => StarEngine.create({ model: { kind: 'files', files }, hosts, openHost: openWorkerHost, conversationRoom: 64 });
  const store = opfsDocumentStore({ kind: 'opfs', directory: 'star-reader-saved-bench' });
  return measureSaveReopen(open, openFileSource(files), store, { lengths, blockSize: (n) => Math.min(2048, n), hosts, say });
}

runBenchmarkPage(main);
