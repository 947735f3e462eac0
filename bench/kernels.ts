// `npm run bench:kernels`: each kernel alone on Qwen2.5-0.5B's shapes (hidden 896, MLP 4864, 14 query
// heads, 2 KV heads, head dim 64), in GFLOP/s (compute-bound kernels) or GB/s (memory-bound ones), with
// the adapter's name. Writes bench/results/kernels.json. `-- --quick` runs the small shapes only.
import { mkdir, writeFile } from 'node:fs/promises';
import { Gpu } from '../src/gpu/gpu.ts';
import type { Tensor } from '../src/gpu/tensor.ts';
import { linear, type LinearWeight } from '../src/gpu/kernels/linear.ts';
import { rmsNorm } from '../src/gpu/kernels/norms.ts';
import { rope } from '../src/gpu/kernels/rope.ts';
import { siluMul } from '../src/gpu/kernels/elementwise.ts';
import { attentionBlockAnchor, attentionDecode, attentionPrefill, decodeScratchBytes, type AttentionShape } from '../src/gpu/kernels/attention.ts';
import { ropeInverseFrequencies } from '../src/model/rope-frequencies.ts';

interface Row {
  kernel: string;
  shape: string;
  ms: number;
  rate: number;
  unit: 'GFLOP/s' | 'GB/s';
}

const quick = process.argv.includes('--quick');
const gpu = await Gpu.create();
const rows: Row[] = [];

function filled(count: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: count }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  });
}

const tensor = (shape: number[], seed: number): Tensor => gpu.tensorFrom(filled(shape.reduce((a, b) => a * b, 1), seed), 'f32', shape);

/** Fastest of a few runs after one untimed run (which compiles the pipeline). */
async function time(record: (encoder: GPUCommandEncoder) => void, runs = quick ? 2 : 3): Promise<number> {
  let best = Infinity;
  for (let r = 0; r <= runs; r++) {
    const started = performance.now();
    gpu.run(record);
    await gpu.finish();
    if (r > 0) best = Math.min(best, performance.now() - started);
  }
  return best;
}

async function measure(kernel: string, shape: string, amount: number, unit: Row['unit'], record: (encoder: GPUCommandEncoder) => void) {
  const ms = await time(record);
  const rate = amount / (ms / 1000) / 1e9;
  rows.push({ kernel, shape, ms, rate, unit });
  console.log(`${kernel.padEnd(22)} ${shape.padEnd(34)} ${ms.toFixed(2).padStart(9)} ms ${rate.toFixed(2).padStart(8)} ${unit}`);
}

console.log(`kernels on ${gpu.adapter.description}${quick ? ' (quick)' : ''}`);
const hidden = 896;
const mlp = 4864;

for (const tokens of quick ? [1, 128] : [1, 128, 512]) {
  const x = tensor([tokens, hidden], 1);
  const w: LinearWeight = { parts: [tensor([mlp, hidden], 2)], outs: mlp, ins: hidden };
  const y = gpu.tensor('f32', [tokens, mlp]);
  const flops = 2 * tokens * hidden * mlp;
  const bytes = 4 * (mlp * hidden + tokens * (hidden + mlp));
  await measure(tokens === 1 ? 'linear (matvec)' : 'linear (tiled)', `${tokens}×${hidden} · ${mlp}×${hidden}ᵀ`, tokens === 1 ? bytes : flops, tokens === 1 ? 'GB/s' : 'GFLOP/s', (e) =>
    linear(gpu, e, x, w, y, tokens),
  );
}

{
  const tokens = quick ? 128 : 512;
  const x = tensor([tokens, hidden], 3);
  const norm = tensor([hidden], 4);
  const y = gpu.tensor('f32', [tokens, hidden]);
  await measure('rmsNorm', `${tokens}×${hidden}`, 4 * 2 * tokens * hidden, 'GB/s', (e) => rmsNorm(gpu, e, x, norm, y, tokens, 1e-6));
  const gate = tensor([tokens, mlp], 5);
  const up = tensor([tokens, mlp], 6);
  const out = gpu.tensor('f32', [tokens, mlp]);
  await measure('siluMul', `${tokens}×${mlp}`, 4 * 3 * tokens * mlp, 'GB/s', (e) => siluMul(gpu, e, gate, up, out, tokens * mlp));
  const q = tensor([tokens, 14, 64], 7);
  const positions = gpu.upload(Uint32Array.from({ length: tokens }, (_, i) => i));
  const { invFreq } = ropeInverseFrequencies(64, 1_000_000);
  const freq = gpu.tensorFrom(invFreq, 'f32', [invFreq.length]);
  await measure('rope', `${tokens}×14×64`, 4 * 2 * tokens * 14 * 64, 'GB/s', (e) => rope(gpu, e, q, positions, freq, tokens, 14, 64, 1));
}

const shape: AttentionShape = { heads: 14, kvHeads: 2, headDim: 64, scale: 1 / 8 };
for (const n of quick ? [512, 1024] : [1024, 2048, 4096]) {
  const q = tensor([n, 14, 64], 8).buffer;
  const keys = tensor([n, 2, 64], 9).buffer;
  const values = tensor([n, 2, 64], 10).buffer;
  const out = { o: gpu.buffer(n * 14 * 64 * 4), lse: gpu.buffer(n * 14 * 4) };
  const pairs = (n * (n + 1)) / 2;
  await measure('attention prefill', `n=${n}, causal`, 4 * 64 * 14 * pairs, 'GFLOP/s', (e) =>
    attentionPrefill(gpu, e, shape, { q, rows: n, firstPosition: 0 }, { keys, values, start: 0, length: n, firstPosition: 0 }, out),
  );
  const b = n / 4;
  const starPairs = 3 * (b * b + (b * (b + 1)) / 2);
  await measure('attention block+anchor', `n=${n}, blocks 1–3 of ${b}`, 4 * 64 * 14 * starPairs, 'GFLOP/s', (e) =>
    attentionBlockAnchor(
      gpu,
      e,
      shape,
      { q, rows: n - b, firstPosition: b },
      { keys, values, start: 0, length: b, firstPosition: 0 },
      { keys, values, start: b, length: n - b, firstPosition: b },
      b,
      out,
    ),
  );
  const spans = [{ keys, values, start: 0, length: n, firstPosition: 0 }];
  const scratch = gpu.buffer(decodeScratchBytes(shape, 1, spans));
  await measure('attention decode', `1 query over ${n} keys`, 2 * 4 * n * 2 * 64, 'GB/s', (e) =>
    attentionDecode(gpu, e, shape, { q, rows: 1, firstPosition: n }, spans, scratch, out),
  );
}

await mkdir(new URL('./results/', import.meta.url), { recursive: true });
const report = { date: new Date().toISOString(), adapter: gpu.adapter.description, quick, rows };
await writeFile(new URL(`./results/kernels${quick ? '-quick' : ''}.json`, import.meta.url), JSON.stringify(report, null, 2));
gpu.destroy();
process.exit(0);
