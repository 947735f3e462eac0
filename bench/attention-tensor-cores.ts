// `node --import tsx bench/attention-tensor-cores.ts [--out DIR] [--checks-only]`: flash attention on
// tensor cores (shaders/flash_tile_tensor_cores.wgsl) on a device that has them (the lent H200; vitest is
// not there). First the checks: the tensor-core kernel against the double-precision reference on random
// and edge shapes (test/gpu/attention-tensor-core-cases.ts, the cases --emulated runs with emulated
// fragments), for the default tile and its neighbours, and on unrounded data within the bound of f16
// rounding (--checks-only stops there, writing nothing, exit 1 when one failed). Then prefill (causal, full) and Star Attention's phase 1 (block 0 alone, then blocks with
// anchors, b = n/4 and n/16) timed for both kernels, interleaved, in TFLOP/s, on Qwen2.5-0.5B's heads
// (14/2, head dim 64) and Llama-3.2-1B's (32/8, 64) at 4K and 16K. Writes h200-attention-tensor-cores.json
// and .md to DIR (default bench/results); exits 1 when a check fails.
import { mkdir, writeFile } from 'node:fs/promises';
import { Gpu } from '../src/gpu/gpu.ts';
import {
  attentionBlockAnchor,
  attentionPrefill,
  choosePrefillKernel,
  hasTensorCoreAttention,
  type AttentionOutput,
  type AttentionShape,
  type TensorCoreTiles,
} from '../src/gpu/kernels/attention.ts';
import { attentionRef, causalMask } from '../test/reference/attention.ts';
import { maxAbsDiff, randomArray } from '../test/support/random.ts';
import { checkTensorCoreCase, lseTolerance, tensorCoreCases } from '../test/gpu/attention-tensor-core-cases.ts';
import { timeInterleaved, type Recorder } from './kernel-suite.ts';

const outIndex = process.argv.indexOf('--out');
const outDir = outIndex > 0 ? process.argv[outIndex + 1] : new URL('./results/', import.meta.url).pathname;
const lengths = process.argv.includes('--quick') ? [4096] : [4096, 16384];
const checksOnly = process.argv.includes('--checks-only');

const tileVariants: TensorCoreTiles[] = [
  { subgroups: 4, keys: 32 },
  { subgroups: 4, keys: 16 },
  { subgroups: 2, keys: 32 },
  { subgroups: 1, keys: 32 },
];
const tileName = (t: TensorCoreTiles) => `${t.subgroups} subgroups × ${t.keys} keys`;
const u = 2 ** -10; // f16 rounding, either neighbour

const gpu = await Gpu.create();
const lines: string[] = [];
const log = (line = '') => {
  lines.push(line);
  console.log(line);
};
const report: Record<string, unknown> = {
  adapter: gpu.adapter.description,
  subgroupSizes: gpu.adapter.subgroupSizes,
  features: gpu.adapter.features,
  workgroupStorage: gpu.device.limits.maxComputeWorkgroupStorageSize,
  subgroupMatrixConfigs: gpu.adapter.subgroupMatrixConfigs,
};
log(`# Flash attention on tensor cores\n`);
log(`Adapter: \`${gpu.adapter.description}\`, subgroups ${gpu.adapter.subgroupSizes.min}–${gpu.adapter.subgroupSizes.max}, workgroup memory ${gpu.device.limits.maxComputeWorkgroupStorageSize} bytes.`);
log(`Features: ${gpu.adapter.features.join(', ')}.`);
const probe: AttentionShape = { heads: 14, kvHeads: 2, headDim: 64, scale: 1 / 8 };
log(`Tensor-core attention possible here: ${hasTensorCoreAttention(gpu, probe)}; chosen by default: ${JSON.stringify(choosePrefillKernel(gpu, probe))}.\n`);
if (process.argv.includes('--emulated')) {
  // The tile's logic on any adapter, its fragments in plain WGSL (shaders/flash_fragments_emulated.wgsl):
  // one subgroup (the emulation stages f32, twice f16's memory), 16 keys where head dim 128 needs it.
  let wrong = 0;
  for (const c of tensorCoreCases.filter((c) => c.emulated)) {
    const r = await checkTensorCoreCase(gpu, c, { subgroups: 1, keys: c.headDim > 64 ? 16 : 32, emulated: true });
    const ok = r.o < r.toleranceO && r.lse < r.toleranceLse;
    if (!ok) wrong++;
    log(`emulated: ${c.name}: |ΔO| ${r.o.toExponential(2)} (tolerance ${r.toleranceO.toExponential(2)}), |ΔLSE| ${r.lse.toExponential(2)} (${r.toleranceLse.toExponential(2)}) ${ok ? 'ok' : 'FAILED'}`);
  }
  process.exit(wrong === 0 ? 0 : 1);
}
if (!hasTensorCoreAttention(gpu, probe)) {
  console.error('This device has no tensor-core attention: nothing to check or time (--emulated checks the tile on any adapter).');
  process.exit(1);
}

let failed = 0;
const checks: unknown[] = [];
log('## Checks against the double-precision reference (f16-exact inputs; tolerance: test/gpu/attention-tensor-core-cases.ts)\n');
log('| case | tile | max \\|ΔO\\| | tolerance | max \\|ΔLSE\\| | tolerance | |');
log('|---|---|---|---|---|---|---|');
for (const c of tensorCoreCases) {
  for (const tiles of tileVariants) {
    let row: Record<string, unknown>;
    try {
      const r = await checkTensorCoreCase(gpu, c, tiles);
      const ok = r.o < r.toleranceO && r.lse < r.toleranceLse;
      if (!ok) failed++;
      row = { case: c.name, tiles, ...r, ok };
      log(`| ${c.name} | ${tileName(tiles)} | ${r.o.toExponential(2)} | ${r.toleranceO.toExponential(2)} | ${r.lse.toExponential(2)} | ${r.toleranceLse.toExponential(2)} | ${ok ? 'ok' : `FAILED${r.wrongO ? `: O wrong in ${r.wrongO}` : ''}`} |`);
    } catch (error) {
      failed++;
      row = { case: c.name, tiles, error: String(error) };
      log(`| ${c.name} | ${tileName(tiles)} | error: ${String(error).slice(0, 300)} | | | | FAILED |`);
    }
    checks.push(row);
  }
}
report.checks = checks;

// The default tile on unrounded data (uniform in [-1, 1], scale 1/√d): against the reference, with the bound of rounding
// q·scale, k, v (each by at most u of itself) and p. A score s = Σ q_d k_d·scale moves by at most
// Δs = 2u·scale·Σ|q_d k_d|; normalised weights by a factor within e^{±2Δs}; with p and v rounded,
// |ΔO| ≤ max|v|·(e^{2Δs} − 1 + 2u) and |ΔLSE| ≤ Δs + u.
log('\n## Unrounded data against the reference, within the bound of f16 rounding\n');
log('| shape | rows | max Δs bound | max \\|ΔO\\| | bound | max \\|ΔLSE\\| | bound | |');
log('|---|---|---|---|---|---|---|---|');
const unrounded: unknown[] = [];
for (const [heads, kvHeads, headDim, rows] of [
  [14, 2, 64, 300],
  [32, 8, 64, 200],
  [8, 2, 128, 260],
] as const) {
  const shape: AttentionShape = { heads, kvHeads, headDim, scale: 1 / Math.sqrt(headDim), tiles: { tensorCores: tileVariants[0] } };
  const q = randomArray(rows * heads * headDim, 11);
  const k = randomArray(rows * kvHeads * headDim, 12);
  const v = randomArray(rows * kvHeads * headDim, 13);
  const out = { o: gpu.buffer(q.length * 4), lse: gpu.buffer(rows * heads * 4) };
  const span = { keys: gpu.upload(k), values: gpu.upload(v), start: 0, length: rows, firstPosition: 0 };
  gpu.run((enc) => attentionPrefill(gpu, enc, shape, { q: gpu.upload(q), rows, firstPosition: 0 }, span, out));
  const o = await gpu.readF32(out.o);
  const lse = await gpu.readF32(out.lse);
  const positions = Array.from({ length: rows }, (_, i) => i);
  const want = attentionRef(shape, q, rows, k, v, rows, causalMask(positions, positions));
  let sumAbs = 0;
  const group = heads / kvHeads;
  for (let t = 0; t < rows; t++) {
    for (let h = 0; h < heads; h++) {
      for (let s = 0; s <= t; s++) {
        let a = 0;
        for (let d = 0; d < headDim; d++) a += Math.abs(q[(t * heads + h) * headDim + d] * k[(s * kvHeads + Math.floor(h / group)) * headDim + d]);
        sumAbs = Math.max(sumAbs, a);
      }
    }
  }
  const ds = 2 * u * shape.scale * sumAbs;
  const maxV = v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const boundO = maxV * (Math.expm1(2 * ds) + 2 * u) + 2e-6;
  const boundLse = ds + u + lseTolerance;
  const dO = maxAbsDiff(o, want.o);
  const dLse = maxAbsDiff(lse, want.lse);
  const ok = dO < boundO && dLse < boundLse;
  if (!ok) failed++;
  unrounded.push({ heads, kvHeads, headDim, rows, ds, dO, boundO, dLse, boundLse, ok });
  log(`| ${heads}/${kvHeads} heads, d ${headDim} | ${rows} | ${ds.toExponential(2)} | ${dO.toExponential(2)} | ${boundO.toExponential(2)} | ${dLse.toExponential(2)} | ${boundLse.toExponential(2)} | ${ok ? 'ok' : 'FAILED'} |`);
}
report.unrounded = unrounded;
if (checksOnly) {
  log(`\n${failed === 0 ? 'All checks passed.' : `${failed} checks FAILED.`}`);
  gpu.destroy();
  process.exit(failed === 0 ? 0 : 1);
}

// Timings.
interface Layout {
  name: string;
  heads: number;
  kvHeads: number;
  headDim: number;
}
const layouts: Layout[] = [
  { name: 'Qwen2.5-0.5B', heads: 14, kvHeads: 2, headDim: 64 },
  { name: 'Llama-3.2-1B', heads: 32, kvHeads: 8, headDim: 64 },
];
const kernels: Array<{ name: string; tiles: AttentionShape['tiles'] }> = [
  { name: 'f32', tiles: undefined },
  { name: 'tensor cores', tiles: { tensorCores: { subgroups: 4, keys: 32 } } },
];

function attentionFlops(l: Layout, rows: number, keysBefore: number): number {
  // Each query row t sees keysBefore + t + 1 keys: 2 FLOPs per multiply-add, QKᵀ and PV.
  return 4 * l.heads * l.headDim * (rows * keysBefore + (rows * (rows + 1)) / 2);
}

const timings: unknown[] = [];
log('\n## Timings (best of interleaved runs)\n');
log('| layout | n | pass | FLOPs ratio full/star | f32 ms | f32 TFLOP/s | tensor cores ms | TFLOP/s | speed-up | star/full speed-up, f32 | tensor cores | vs FLOPs ratio (tc) |');
log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const l of layouts) {
  for (const n of lengths) {
    const q = gpu.upload(randomArray(n * l.heads * l.headDim, 21));
    const keys = gpu.upload(randomArray(n * l.kvHeads * l.headDim, 22));
    const values = gpu.upload(randomArray(n * l.kvHeads * l.headDim, 23));
    const out: AttentionOutput = { o: gpu.buffer(n * l.heads * l.headDim * 4), lse: gpu.buffer(n * l.heads * 4) };
    const shapeOf = (tiles: AttentionShape['tiles']): AttentionShape => ({ heads: l.heads, kvHeads: l.kvHeads, headDim: l.headDim, scale: 1 / Math.sqrt(l.headDim), tiles });
    const full = (shape: AttentionShape): Recorder => (e) =>
      attentionPrefill(gpu, e, shape, { q, rows: n, firstPosition: 0 }, { keys, values, start: 0, length: n, firstPosition: 0 }, out);
    const star = (shape: AttentionShape, b: number): Recorder => (e) => {
      attentionPrefill(gpu, e, shape, { q, rows: b, firstPosition: 0 }, { keys, values, start: 0, length: b, firstPosition: 0 }, out);
      attentionBlockAnchor(
        gpu,
        e,
        shape,
        { q, rows: n - b, firstPosition: b },
        { keys, values, start: 0, length: b, firstPosition: 0 },
        { keys, values, start: b, length: n - b, firstPosition: b },
        b,
        out,
      );
    };
    const fullFlops = attentionFlops(l, n, 0);
    const passes: Array<{ pass: string; flops: number; record: (shape: AttentionShape) => Recorder }> = [
      { pass: 'full', flops: fullFlops, record: full },
    ];
    for (const parts of [4, 16]) {
      const b = n / parts;
      passes.push({ pass: `star b=n/${parts}`, flops: attentionFlops(l, b, 0) + (parts - 1) * attentionFlops(l, b, b), record: (s) => star(s, b) });
    }
    const fullMs: number[] = [];
    for (const p of passes) {
      const ms = await timeInterleaved(kernels.map((k) => ({ gpu, record: p.record(shapeOf(k.tiles)) })), 2, 1500);
      if (p.pass === 'full') fullMs.push(...ms);
      const tflops = ms.map((t) => p.flops / t / 1e9);
      const ratio = fullFlops / p.flops;
      const starSpeedup = ms.map((t, i) => fullMs[i] / t);
      timings.push({ layout: l.name, n, pass: p.pass, flops: p.flops, ms: { f32: ms[0], tensorCores: ms[1] }, tflops: { f32: tflops[0], tensorCores: tflops[1] } });
      log(
        `| ${l.name} | ${n} | ${p.pass} | ${ratio.toFixed(2)} | ${ms[0].toFixed(2)} | ${tflops[0].toFixed(1)} | ${ms[1].toFixed(2)} | ${tflops[1].toFixed(1)} | ${(ms[0] / ms[1]).toFixed(2)}× | ` +
          (p.pass === 'full' ? '| | |' : `${starSpeedup[0].toFixed(2)}× | ${starSpeedup[1].toFixed(2)}× | ${((100 * starSpeedup[1]) / ratio).toFixed(0)}% |`),
      );
    }
    // The same outputs from both kernels at this length (full pass, Qwen-sized check of the large shapes).
    // One kernel after the other: each run writes the same buffers.
    if (l === layouts[0] && n === lengths[0]) {
      const outs: Array<{ o: Float32Array; lse: Float32Array }> = [];
      for (const k of kernels) {
        gpu.run(full(shapeOf(k.tiles)));
        outs.push({ o: await gpu.readF32(out.o), lse: await gpu.readF32(out.lse) });
      }
      const diff = { o: maxAbsDiff(outs[0].o, outs[1].o), lse: maxAbsDiff(outs[0].lse, outs[1].lse) };
      report.largeDiff = { layout: l.name, n, ...diff };
      log(`| ${l.name} | ${n} | f32 vs tensor cores | max \\|ΔO\\| ${diff.o.toExponential(2)}, max \\|ΔLSE\\| ${diff.lse.toExponential(2)} | | | | | | | | |`);
    }
  }
}
report.timings = timings;

// Tile variants of the tensor-core kernel, Qwen layout, longest length, full prefill.
log('\n## Tensor-core tiles, Qwen2.5-0.5B heads, full prefill\n');
{
  const l = layouts[0];
  const n = lengths[lengths.length - 1];
  const q = gpu.upload(randomArray(n * l.heads * l.headDim, 31));
  const keys = gpu.upload(randomArray(n * l.kvHeads * l.headDim, 32));
  const values = gpu.upload(randomArray(n * l.kvHeads * l.headDim, 33));
  const out: AttentionOutput = { o: gpu.buffer(n * l.heads * l.headDim * 4), lse: gpu.buffer(n * l.heads * 4) };
  const ms = await timeInterleaved(
    tileVariants.map((tiles) => ({
      gpu,
      record: (e: GPUCommandEncoder) =>
        attentionPrefill(gpu, e, { heads: l.heads, kvHeads: l.kvHeads, headDim: l.headDim, scale: 0.125, tiles: { tensorCores: tiles } }, { q, rows: n, firstPosition: 0 }, { keys, values, start: 0, length: n, firstPosition: 0 }, out),
    })),
    2,
    1500,
  );
  const flops = attentionFlops(l, n, 0);
  report.tiles = tileVariants.map((tiles, i) => ({ tiles, n, ms: ms[i], tflops: flops / ms[i] / 1e9 }));
  log('| tile | n | ms | TFLOP/s |');
  log('|---|---|---|---|');
  tileVariants.forEach((tiles, i) => log(`| ${tileName(tiles)} | ${n} | ${ms[i].toFixed(2)} | ${(flops / ms[i] / 1e9).toFixed(1)} |`));
}

log(`\n${failed === 0 ? 'All checks passed.' : `${failed} checks FAILED.`}`);
report.failed = failed;
await mkdir(outDir, { recursive: true });
await writeFile(`${outDir}/h200-attention-tensor-cores.json`, JSON.stringify(report, null, 2));
await writeFile(`${outDir}/h200-attention-tensor-cores.md`, lines.join('\n') + '\n');
gpu.destroy();
process.exit(failed === 0 ? 0 : 1);
