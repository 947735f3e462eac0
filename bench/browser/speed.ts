// The speed benchmark (src/bench/speed-bench.ts) in a browser page: the default synthetic model written in
// memory (or a Hub-layout model from the URL in `model`), hosts in Workers, the attention kernels on the
// page's own GPUDevice. Options come as the query string (modes, lengths, blockDivisors, hosts, decode,
// repeat, quick). `npm run bench -- --browser` opens it through run-page.ts, which receives the report; opened
// by hand, it prints the markdown table.
import { qwen25HalfBLayout, syntheticModelFiles } from '../../src/model/synthetic-weights.ts';
import { StarEngine } from '../../src/star/star-engine.ts';
import type { ModelSource } from '../../src/star/reader-api.ts';
import { openWorkerHost } from '../../src/star/worker-host.ts';
import { openAttentionTimer } from '../../src/bench/attention-timing.ts';
import {
  benchOptions,
  benchPlan,
  describeSpeedEvent,
  engineSubject,
  formatSpeedMarkdown,
  runSpeedBench,
  speedReport,
  type SpeedReport,
} from '../../src/bench/speed-bench.ts';
import { runBenchmarkPage, type Say } from './page.ts';

async function main(say: Say): Promise<SpeedReport> {
  const query = new URLSearchParams(location.search);
  const number = (name: string) => (query.has(name) ? Number(query.get(name)) : undefined);
  const options = benchOptions(
    {
      modes: query.get('modes') ?? undefined,
      lengths: query.get('lengths') ?? undefined,
      blockDivisors: query.get('blockDivisors') ?? undefined,
      hosts: query.get('hosts') ?? undefined,
      decode: number('decode'),
      repeat: number('repeat'),
      quick: query.has('quick'),
    },
    'browser',
  );
  const url = query.get('model');
  const model: ModelSource = url
    ? { kind: 'url', base: new URL(url, location.href).href }
    : { kind: 'files', files: new Map([...syntheticModelFiles(qwen25HalfBLayout)].map(([name, bytes]) => [name, new File([bytes as Uint8Array<ArrayBuffer>], name)])) };
  const modelName = url ?? qwen25HalfBLayout.name;
  say(`${modelName}: lengths ${options.lengths.join(', ')}, block divisors ${options.blockDivisors.join(', ')}, hosts ${options.hosts.join(', ')}`);
  const plan = benchPlan(options);
  const subject = engineSubject(
    (hosts) => StarEngine.create({ model, hosts, openHost: openWorkerHost, conversationRoom: options.decode + 1 }),
    openAttentionTimer,
  );
  const result = await runSpeedBench(subject, plan, { onEvent: (event) => say(describeSpeedEvent(event)) });
  return speedReport(result, plan, modelName, 'browser');
}

runBenchmarkPage(main, formatSpeedMarkdown);
