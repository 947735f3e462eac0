// `tsx bench/matvec.ts [--quick] [--formats f32,bf16,q8,q4g128] [--matrices NAMES] [--out DIR]`: the decode matvec
// (shaders/matvec.wgsl, one row of X) on the weight matrices of Qwen2.5-0.5B and Llama-3.2-1B (q+k+v,
// o, gate+up as decoding runs it — GATE_UP —, down, lm_head) in each weight format: the GPU time of
// one call (timestamp queries around a pass of 20 calls, each reading the next of several copies of the
// weight, so that a 50 MB L2 cache does not hold it, as a model's layers each read their own) and the
// GB/s of weight bytes read (data and scales), for chooseMatvec's shape and others beside it (twice,
// half and 64 invocations; twice and half the rows per workgroup; another number of chunks at a time; the other
// way to read rows: vec4s for a quantized format, chunks for f32 and 16-bit ones). What chooseMatvec's table is checked against. --quick: two small matrices and one copy (lavapipe, under a minute). --out DIR writes
// DIR/matvec.txt (the lines printed) and DIR/matvec.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Gpu } from '../src/gpu/gpu.ts';
import { chooseMatvec, gateUpShape, linear, type LinearWeight, type MatvecShape } from '../src/gpu/kernels/linear.ts';
import { weightBytes, weightFormats, type WeightFormat, type WeightPart } from '../src/gpu/kernels/weight-format.ts';
import { f32ToBf16Bits, f32ToF16Bits } from '../src/model/dtype.ts';
import { quantize } from '../src/model/formats/quantize.ts';
import { uniformStream } from '../src/model/synthetic-weights.ts';
import { gpuTimePerCall, type Recorder } from './kernel-suite.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    formats: { type: 'string', default: 'f32,bf16,q8,q4g128' },
    // Only the matrices whose names contain one of these (comma-separated), e.g. "lm_head,llama down".
    matrices: { type: 'string' },
    out: { type: 'string' },
  },
});

interface Matrix {
  name: string;
  outs: number;
  ins: number;
  /** Gate and up rows concatenated, run as decoding runs them (GATE_UP: outs / 2 outputs). */
  gateUp?: boolean;
}
const matrices: Matrix[] = [
  { name: 'qwen q+k+v', outs: 1152, ins: 896 },
  { name: 'qwen o', outs: 896, ins: 896 },
  { name: 'qwen gate+up', outs: 9728, ins: 896, gateUp: true },
  { name: 'qwen down', outs: 896, ins: 4864 },
  { name: 'qwen lm_head', outs: 151936, ins: 896 },
  { name: 'llama q+k+v', outs: 3072, ins: 2048 },
  { name: 'llama o', outs: 2048, ins: 2048 },
  { name: 'llama gate+up', outs: 16384, ins: 2048, gateUp: true },
  { name: 'llama down', outs: 2048, ins: 8192 },
  { name: 'llama lm_head', outs: 128256, ins: 2048 },
];
const quickMatrices = ['qwen o', 'qwen down'];

const formats = args.formats.split(',').map((f) => {
  if (!weightFormats.includes(f as WeightFormat)) throw new Error(`Unknown weight format ${f}; formats: ${weightFormats.join(', ')}`);
  return f as WeightFormat;
});

/** Bytes of distinct weights a run cycles through, past a GPU's L2 cache (50 MB on an H100). */
const defeatL2Bytes = 128 * 2 ** 20;
/** Elements of the random pattern every weight buffer repeats (values do not change the timing). */
const patternElements = 2 ** 20;

const gpu = await Gpu.create();
const lines: string[] = [];
const log = (line: string) => {
  lines.push(line);
  console.log(line);
};
log(`adapter: ${gpu.adapter.description}${gpu.hasSubgroups ? ', subgroups' : ''}${gpu.adapter.runsOnCpu ? ', a CPU adapter' : ''}`);
log('one row of X; GPU time of one call (fastest pass of 20 calls); GB/s of weight bytes (data + scales)');
log('shape = invocations / weight rows per workgroup / chunks of 32 elements at a time per row (or N vec4s: N vec4s at a time)');
log('');

/** One format's pattern: the words of binding 2 and binding 5 that patternElements elements take. */
function pattern(format: WeightFormat): { data: Uint32Array; scales?: Uint32Array } {
  const values = uniformStream(11)(patternElements, 0.05);
  if (format === 'f32') return { data: new Uint32Array(values.buffer) };
  if (format === 'f16' || format === 'bf16') {
    const bits = format === 'f16' ? f32ToF16Bits(values) : f32ToBf16Bits(values);
    return { data: new Uint32Array(bits.buffer, bits.byteOffset, bits.length / 2) };
  }
  const packed = quantize(format, values);
  return { data: packed.data, scales: packed.scales };
}

/** A storage buffer of `bytes` filled with `words` over and over. */
function filled(bytes: number, words: Uint32Array): GPUBuffer {
  const buffer = gpu.buffer(bytes);
  for (let at = 0; at < bytes; at += words.byteLength) gpu.write(buffer, words.subarray(0, Math.min(words.length, (bytes - at) / 4)), at);
  return buffer;
}

/** The matrix in `format`, split into row ranges that fit a storage binding (as loadWeights splits). */
function weightOf(m: Matrix, format: WeightFormat, words: ReturnType<typeof pattern>): LinearWeight {
  const rowBytes = weightBytes(format, m.ins);
  const rowsPerPart = Math.floor(gpu.maxBindingBytes / rowBytes.data);
  const parts: WeightPart[] = [];
  for (let first = 0; first < m.outs; first += rowsPerPart) {
    const rows = Math.min(rowsPerPart, m.outs - first);
    const data = filled(rows * rowBytes.data, words.data);
    const scales = words.scales ? filled(rows * rowBytes.scales, words.scales) : undefined;
    const dtype = format === 'f32' || format === 'f16' || format === 'bf16' ? format : 'u32';
    parts.push({ buffer: data, dtype, shape: [rows, m.ins], format, ...(scales ? { scales } : {}) });
  }
  return { parts, outs: m.outs, ins: m.ins };
}

const name = (s: MatvecShape) => `${s.threads}/${s.outsPerGroup}/${s.unroll}${s.chunked ? '' : ' vec4s'}`;

/**
 * chooseMatvec's shape, then beside it: twice and half the invocations, and 64 (until matvecKernel
 * passed THREADS, every shape ran 64, so every earlier figure is for 64); twice and half the weight rows per
 * workgroup (x loaded for more or fewer rows); where it reads chunks, another number of chunks at a
 * time; and the other way to read rows: vec4s for a quantized format (f32's shape for the matrix, the
 * kernel before chunks), chunks for f32 and 16-bit ones (a quantized format's invocations for the
 * matrix, at most 8 loads of a row at a time, as this branch first read every format).
 */
function variants(chosen: MatvecShape, m: Matrix, format: WeightFormat): MatvecShape[] {
  const out = [chosen];
  if (chosen.threads < 256) out.push({ ...chosen, threads: (chosen.threads * 2) as MatvecShape['threads'] });
  if (chosen.threads > 32) out.push({ ...chosen, threads: (chosen.threads / 2) as MatvecShape['threads'] });
  out.push({ ...chosen, threads: 64 }); // what every shape ran before THREADS reached the shader
  if (chosen.outsPerGroup < 4) out.push({ ...chosen, outsPerGroup: (chosen.outsPerGroup * 2) as 2 | 4 });
  if (chosen.outsPerGroup > 1) out.push({ ...chosen, outsPerGroup: (chosen.outsPerGroup / 2) as 1 | 2 });
  if (chosen.chunked) {
    out.push({ ...chosen, unroll: chosen.unroll === 1 ? 2 : chosen.unroll === 2 ? 4 : 2 });
    out.push(chooseMatvec(gpu, 1, m.outs, m.ins, { norm: false }, 'f32'));
  } else if (!gpu.adapter.runsOnCpu && m.ins % 32 === 0) {
    const q8 = chooseMatvec(gpu, 1, m.outs, m.ins, { norm: false }, 'q8');
    out.push({ ...q8, outsPerGroup: chosen.outsPerGroup, unroll: format === 'f32' ? 1 : (Math.min(q8.unroll, 2) as 1 | 2) });
  }
  return out.filter((shape, i) => out.findIndex((other) => name(other) === name(shape)) === i);
}

const results: unknown[] = [];
const rounds = args.quick ? 2 : 5;
for (const format of formats) {
  const words = pattern(format);
  const wanted = args.matrices?.split(',');
  for (const m of matrices.filter((m) => (args.quick ? quickMatrices.includes(m.name) : !wanted || wanted.some((w) => m.name.includes(w))))) {
    const bytesEach = weightBytes(format, m.outs * m.ins);
    const bytes = bytesEach.data + bytesEach.scales;
    const copies = args.quick ? 1 : Math.min(16, Math.max(1, Math.ceil(defeatL2Bytes / bytes)));
    let weights: LinearWeight[];
    try {
      weights = Array.from({ length: copies }, () => weightOf(m, format, words));
    } catch (error) {
      log(`${format} ${m.name}: skipped (${(error as Error).message})`);
      continue;
    }
    const gateUp = m.gateUp && weights[0].parts.length === 1;
    const outputs = gateUp ? m.outs / 2 : m.outs;
    const x = gpu.tensorFrom(uniformStream(7)(m.ins, 1), 'f32', [1, m.ins]);
    const y = gpu.tensor('f32', [1, outputs]);
    const chosen = chooseMatvec(gpu, 1, m.outs, m.ins, { norm: false }, format);
    for (const [i, matvec] of variants(chosen, m, format).entries()) {
      let call = 0;
      const record: Recorder = (e) => linear(gpu, e, x, weights[call++ % copies], y, 1, { matvec, ...(gateUp ? { gateUp: 'silu' as const } : {}) });
      const ms = await gpuTimePerCall(gpu, record, rounds);
      const ran = gateUp ? gateUpShape(matvec) : matvec;
      const gbps = bytes / (ms / 1000) / 1e9;
      log(
        `${format.padEnd(6)} ${m.name.padEnd(14)} ${`${m.outs}×${m.ins}`.padEnd(12)} ${(ms * 1000).toFixed(1).padStart(8)} µs ${gbps.toFixed(gbps < 10 ? 2 : 0).padStart(5)} GB/s  ` +
          `${name(ran)}${i === 0 ? ' (chosen)' : ''}${m.gateUp && !gateUp ? ' (gate and up unfused: more than one binding)' : ''}`,
      );
      results.push({ format, matrix: m.name, outs: m.outs, ins: m.ins, gateUp, shape: ran, chosen: i === 0, copies, bytes, gpuMs: ms, gbps });
    }
    for (const w of weights) {
      for (const part of w.parts) {
        part.buffer.destroy();
        (part as WeightPart).scales?.destroy();
      }
    }
    x.buffer.destroy();
    y.buffer.destroy();
  }
}
if (args.out) {
  await mkdir(args.out, { recursive: true });
  await writeFile(join(args.out, 'matvec.txt'), `${lines.join('\n')}\n`);
  await writeFile(join(args.out, 'matvec.json'), `${JSON.stringify({ adapter: gpu.adapter.description, date: new Date().toISOString(), quick: args.quick, results }, null, 1)}\n`);
}
gpu.destroy();
process.exit(0);
