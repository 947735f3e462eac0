// `star-reader bench` (npm run bench): Star Attention against full attention on the same engine, in one
// run. Phase 1 (encoding) time at several context lengths, block sizes and host counts, decode
// tokens/s after each, and the attention kernels alone (one layer) against the ratio of query–key
// pairs each mode computes. Writes JSON and a markdown table.
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseOptions, UsageError, type OptionSpec } from './args.ts';
import { qwen25HalfBLayout, writeSyntheticModel } from './synthetic-model.ts';
import { StarEngine } from '../star/engine.ts';
import { openLocalHost } from '../star/local-host.ts';
import { attentionPairs, planBlocks } from '../star/block-planner.ts';
import { Gpu } from '../gpu/gpu.ts';
import { attentionBlockAnchor, attentionPrefill, type AttentionShape } from '../gpu/kernels/attention.ts';

export const benchOptions = {
  model: { type: 'string', help: 'model directory in Hub layout (default: random weights with Qwen2.5-0.5B heads, 2 layers)' },
  lengths: { type: 'string', default: '1024,2048,4096,8192', help: 'context lengths, comma-separated' },
  'block-divisors': { type: 'string', default: '4,8', help: 'block size = length / each divisor (at least 128)' },
  hosts: { type: 'string', default: '1', help: 'host counts to run Star Attention on, comma-separated' },
  decode: { type: 'number', default: 8, help: 'tokens generated after each encode to measure decode speed' },
  repeat: { type: 'number', default: 1, help: 'runs of each measurement (the fastest is kept)' },
  quick: { type: 'boolean', help: 'lengths 1024 and 2048 only, one block divisor: finishes in about two minutes on a CPU WebGPU' },
  out: { type: 'string', default: 'bench/results/latest', help: 'output path without extension (.json and .md are written)' },
} satisfies OptionSpec;

interface EngineRow {
  tokens: number;
  mode: 'full' | 'star';
  blockSize: number;
  hosts: number;
  encodeMs: number;
  decodeTokensPerSecond: number;
  attentionPairs: number;
}

interface KernelRow {
  tokens: number;
  blockSize: number;
  fullMs: number;
  starMs: number;
  measuredRatio: number;
  pairRatio: number;
}

const list = (text: string) =>
  text.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`"${s}" is not a positive integer`);
    return n;
  });

export async function bench(argv: readonly string[]): Promise<void> {
  const o = parseOptions(argv, benchOptions);
  const lengths = o.quick ? [1024, 2048] : list(o.lengths);
  const divisors = o.quick ? [4] : list(o['block-divisors']);
  const hostCounts = list(o.hosts);
  const modelDir = o.model ? resolve(o.model) : await writeSyntheticModel(qwen25HalfBLayout);
  const modelName = o.model ?? qwen25HalfBLayout.name;

  const engine = await StarEngine.create({
    model: { kind: 'directory', path: modelDir },
    hosts: Math.max(...hostCounts),
    openHost: openLocalHost,
    conversationRoom: o.decode + 1,
  });
  const adapter = engine.info.adapter.description;
  const config = engine.info.config;
  console.error(`bench: ${modelName} on ${adapter}`);
  const vocab = config.vocab;
  const document = (n: number) => Array.from({ length: n }, (_, i) => 3 + ((i * 7919) % (vocab - 3)));

  // Compile every pipeline first so no timing includes shader compilation.
  await engine.encode(document(512), { attention: 'full' });
  await engine.feed([5]);
  await engine.encode(document(512), { attention: 'star', blockSize: 128, hosts: 1 });
  await engine.feed([5]);

  const rows: EngineRow[] = [];
  const measure = async (n: number, mode: 'full' | 'star', blockSize: number, hosts: number) => {
    let best = Infinity;
    let pairs = 0;
    for (let r = 0; r < o.repeat; r++) {
      const stats = await engine.encode(document(n), { attention: mode, blockSize: mode === 'full' ? undefined : blockSize, hosts });
      best = Math.min(best, stats.encodeMs);
      pairs = stats.attentionPairs;
    }
    const started = performance.now();
    for (let t = 0; t < o.decode; t++) await engine.feed([3 + t]);
    const decodeTokensPerSecond = o.decode / ((performance.now() - started) / 1000);
    const row: EngineRow = { tokens: n, mode, blockSize: mode === 'full' ? n : blockSize, hosts, encodeMs: best, decodeTokensPerSecond, attentionPairs: pairs };
    rows.push(row);
    console.error(`  ${mode} n=${n} b=${row.blockSize} hosts=${hosts}: ${best.toFixed(0)} ms, decode ${decodeTokensPerSecond.toFixed(1)} tok/s`);
  };
  for (const n of lengths) {
    await measure(n, 'full', n, 1);
    for (const d of divisors) for (const h of hostCounts) await measure(n, 'star', Math.max(128, Math.ceil(n / d)), h);
  }
  await engine.dispose();

  const kernels = await benchKernels(lengths, divisors, { heads: config.heads, kvHeads: config.kvHeads, headDim: config.headDim, scale: 1 / Math.sqrt(config.headDim) }, o.repeat);

  const report = { date: new Date().toISOString(), adapter, model: modelName, layers: config.layers, engine: rows, kernels };
  await mkdir(resolve(o.out, '..'), { recursive: true });
  await writeFile(`${o.out}.json`, JSON.stringify(report, null, 2));
  const markdown = formatMarkdown(report);
  await writeFile(`${o.out}.md`, markdown);
  console.log(markdown);
}

/** One layer's attention alone: full causal prefill vs block 0 + the block-anchor kernel, same shapes. */
async function benchKernels(lengths: number[], divisors: number[], shape: AttentionShape, repeat: number): Promise<KernelRow[]> {
  const gpu = await Gpu.create();
  const rows: KernelRow[] = [];
  try {
    for (const n of lengths) {
      const qBytes = n * shape.heads * shape.headDim * 4;
      const kvBytes = n * shape.kvHeads * shape.headDim * 4;
      const q = gpu.buffer(qBytes);
      const keys = gpu.buffer(kvBytes);
      const values = gpu.buffer(kvBytes);
      const out = { o: gpu.buffer(qBytes), lse: gpu.buffer(n * shape.heads * 4) };
      gpu.write(q, randomFloats(n * shape.heads * shape.headDim, 1));
      gpu.write(keys, randomFloats(n * shape.kvHeads * shape.headDim, 2));
      gpu.write(values, randomFloats(n * shape.kvHeads * shape.headDim, 3));
      const time = async (record: (encoder: GPUCommandEncoder) => void) => {
        let best = Infinity;
        for (let r = 0; r < repeat + 1; r++) {
          // The first run compiles pipelines and is not counted.
          const started = performance.now();
          gpu.run(record);
          await gpu.finish();
          if (r > 0) best = Math.min(best, performance.now() - started);
        }
        return best;
      };
      const fullMs = await time((encoder) =>
        attentionPrefill(gpu, encoder, shape, { q, rows: n, firstPosition: 0 }, { keys, values, start: 0, length: n, firstPosition: 0 }, out),
      );
      for (const d of divisors) {
        const b = Math.max(128, Math.ceil(n / d));
        const plan = planBlocks(n, { blockSize: b });
        const qRest = gpu.buffer(Math.max(4, (n - b) * shape.heads * shape.headDim * 4));
        gpu.write(qRest, randomFloats((n - b) * shape.heads * shape.headDim, 4));
        const starMs = await time((encoder) => {
          attentionPrefill(gpu, encoder, shape, { q, rows: b, firstPosition: 0 }, { keys, values, start: 0, length: b, firstPosition: 0 }, out);
          if (n > b) {
            attentionBlockAnchor(
              gpu,
              encoder,
              shape,
              { q: qRest, rows: n - b, firstPosition: b },
              { keys, values, start: 0, length: b, firstPosition: 0 },
              { keys, values, start: b, length: n - b, firstPosition: b },
              b,
              out,
            );
          }
        });
        qRest.destroy();
        const pairRatio = attentionPairs(plan, 'full') / attentionPairs(plan, 'star');
        rows.push({ tokens: n, blockSize: b, fullMs, starMs, measuredRatio: fullMs / starMs, pairRatio });
        console.error(`  kernels n=${n} b=${b}: full ${fullMs.toFixed(1)} ms, star ${starMs.toFixed(1)} ms`);
      }
      for (const b of [q, keys, values, out.o, out.lse]) b.destroy();
    }
  } finally {
    gpu.destroy();
  }
  return rows;
}

function randomFloats(n: number, seed: number): Float32Array {
  let s = seed;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

function formatMarkdown(report: { date: string; adapter: string; model: string; layers: number; engine: EngineRow[]; kernels: KernelRow[] }): string {
  const lines = [
    `Measured ${report.date.slice(0, 10)} on ${report.adapter}; model: ${report.model}, ${report.layers} layers.`,
    '',
    '### Phase 1 (whole model), star vs full from the same run',
    '',
    '| context | mode | block | hosts | encode ms | full / this | attention pairs full / this | decode tok/s |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const row of report.engine) {
    const full = report.engine.find((r) => r.tokens === row.tokens && r.mode === 'full')!;
    lines.push(
      `| ${row.tokens} | ${row.mode} | ${row.blockSize} | ${row.hosts} | ${row.encodeMs.toFixed(0)} | ${(full.encodeMs / row.encodeMs).toFixed(2)}× | ` +
        `${(full.attentionPairs / row.attentionPairs).toFixed(2)}× | ${row.decodeTokensPerSecond.toFixed(1)} |`,
    );
  }
  lines.push(
    '',
    '### Attention kernels alone (one layer): star / full against the query–key pair ratio',
    '',
    '| context | block | full ms | star ms | measured full / star | pair ratio | measured / pair ratio |',
    '|---|---|---|---|---|---|---|',
  );
  for (const k of report.kernels) {
    lines.push(
      `| ${k.tokens} | ${k.blockSize} | ${k.fullMs.toFixed(1)} | ${k.starMs.toFixed(1)} | ${k.measuredRatio.toFixed(2)}× | ${k.pairRatio.toFixed(2)}× | ${((100 * k.measuredRatio) / k.pairRatio).toFixed(0)}% |`,
    );
  }
  return lines.join('\n') + '\n';
}
