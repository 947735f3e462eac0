// `tsx bench/matvec.ts [--out FILE]`: the decode matvec (shaders/matvec.wgsl, one row of X) on the weight
// shapes of Qwen2.5-0.5B and Llama-3.2-1B, in f32 and bf16, for every shape of the kernel
// (invocations per row group × weight rows per workgroup × loads in flight) and for chooseMatvec's
// choice, in GB/s of weight read (interleaved rounds, fastest run). What chooseMatvec's table is
// tuned from; prints the choice per matrix and the fastest shape beside it.
import { writeFile } from 'node:fs/promises';
import { Gpu } from '../src/gpu/gpu.ts';
import { chooseMatvec, linear, type LinearWeight, type MatvecShape } from '../src/gpu/kernels/linear.ts';
import { f32ToBf16Bits } from '../src/model/dtype.ts';
import { uniformStream } from '../src/model/synthetic-weights.ts';
import { timeInterleaved } from './kernel-suite.ts';

const matrices: Array<[name: string, outs: number, ins: number]> = [
  ['qwen q', 896, 896],
  ['qwen k', 128, 896],
  ['qwen gate', 4864, 896],
  ['qwen down', 896, 4864],
  ['qwen lm_head', 151936, 896],
  ['llama q', 2048, 2048],
  ['llama k', 512, 2048],
  ['llama gate', 8192, 2048],
  ['llama down', 2048, 8192],
  ['llama lm_head', 128256, 2048],
];
const shapes: MatvecShape[] = [];
for (const threads of [64, 128, 256] as const) {
  for (const outsPerGroup of [1, 2, 4] as const) {
    for (const unroll of [1, 4] as const) shapes.push({ threads, outsPerGroup, unroll });
  }
}
const name = (s: MatvecShape) => `${s.threads}/${s.outsPerGroup}/${s.unroll}`;

const gpu = await Gpu.create();
const lines = [`adapter: ${gpu.adapter.description}`, 'shape = invocations / weight rows per workgroup / loads in flight per row; GB/s of weight read', ''];
const log = (line: string) => {
  lines.push(line);
  console.log(line);
};
const results: unknown[] = [];
for (const format of ['f32', 'bf16'] as const) {
  for (const [label, outs, ins] of matrices) {
    const values = uniformStream(outs + ins)(outs * ins, 0.05);
    const part = format === 'f32' ? gpu.tensorFrom(values, 'f32', [outs, ins]) : gpu.tensorFrom(f32ToBf16Bits(values), 'bf16', [outs, ins]);
    const weight: LinearWeight = { parts: [part], outs, ins };
    const x = gpu.tensorFrom(uniformStream(7)(ins, 1), 'f32', [1, ins]);
    const y = gpu.tensor('f32', [1, outs]);
    const chosen = chooseMatvec(gpu, 1, outs, ins, { norm: false });
    const subjects = [chosen, ...shapes].map((matvec) => ({ gpu, record: (e: GPUCommandEncoder) => linear(gpu, e, x, weight, y, 1, { matvec }) }));
    const ms = await timeInterleaved(subjects, 3, 1500);
    const bytes = outs * ins * (format === 'f32' ? 4 : 2);
    const rate = (t: number) => bytes / t / 1e6;
    const best = ms.slice(1).reduce((b, t, i) => (t < ms[b + 1] ? i : b), 0);
    log(`${format} ${label} ${outs}×${ins}: chosen ${name(chosen)} ${ms[0].toFixed(4)} ms ${rate(ms[0]).toFixed(0)} GB/s; fastest ${name(shapes[best])} ${ms[best + 1].toFixed(4)} ms ${rate(ms[best + 1]).toFixed(0)} GB/s`);
    log(`   all: ${shapes.map((s, i) => `${name(s)} ${rate(ms[i + 1]).toFixed(0)}`).join(', ')}`);
    results.push({ format, matrix: label, outs, ins, chosen, chosenMs: ms[0], shapes: shapes.map((s, i) => ({ ...s, ms: ms[i + 1] })) });
    part.buffer.destroy();
  }
}
const out = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : undefined;
if (out) await writeFile(out, JSON.stringify({ adapter: gpu.adapter.description, date: new Date().toISOString(), lines, results }, null, 1));
