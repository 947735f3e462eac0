// `tsx bench/attention-decode.ts [--contexts 1024,16384,65536] [--out FILE]`: decode attention alone
// (attentionDecode: the split-KV kernel and its merge) for one query token over an f16 cache, on the
// attention shapes of Qwen2.5-0.5B (14 query heads, 2 KV heads) and Llama-3.2-1B (32, 8), head dim 64:
// the GPU time of one layer's call (timestamp queries around a pass of 20 calls, each over its own copy
// of the cache where they fit in 128 MB, as a model's layers each read their own) and the GB/s of keys
// and values read, and the wall time per call (recording included: interleaved rounds, fastest run,
// bench/kernel-suite.ts's timeInterleaved). Beside attentionDecode's own layout, other split sizes
// (keys per workgroup), so that its table can be checked on a GPU.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Gpu } from '../src/gpu/gpu.ts';
import { attentionDecode, decodeChoice, decodeScratchBytes, type AttentionShape, type DecodeTiles } from '../src/gpu/kernels/attention.ts';
import { f32ToF16Bits } from '../src/model/dtype.ts';
import { uniformStream } from '../src/model/synthetic-weights.ts';
import { gpuTimePerCall, timeInterleaved, type Recorder } from './kernel-suite.ts';

const { values: args } = parseArgs({
  options: {
    contexts: { type: 'string', default: '1024,16384,65536' },
    splits: { type: 'string', default: '64,256,1024' },
    // The subgroup kernel's other layouts, at the chosen split: keys a key group loads at once, invocations a workgroup.
    unrolls: { type: 'string', default: '' },
    threads: { type: 'string', default: '' },
    // Query rows a workgroup (the GQA group's rows in tiles of this many), at the chosen layout and split.
    rows: { type: 'string', default: '' },
    out: { type: 'string' },
  },
});

const layouts: Array<[name: string, shape: AttentionShape]> = [
  ['qwen2.5-0.5b', { heads: 14, kvHeads: 2, headDim: 64, scale: 1 / 8 }],
  ['llama-3.2-1b', { heads: 32, kvHeads: 8, headDim: 64, scale: 1 / 8 }],
];

/** Bytes of distinct caches a run cycles through, past a GPU's L2 cache (50 MB on an H100). */
const defeatL2Bytes = 128 * 2 ** 20;

const gpu = await Gpu.create();
const lines = [`adapter: ${gpu.adapter.description}`, 'one query token over an f16 cache: attention + merge, one layer; GB/s of K and V read in the GPU time', ''];
const log = (line: string) => {
  lines.push(line);
  console.log(line);
};
log(lines[0]);
const results: unknown[] = [];

function f16Buffer(count: number, seed: number): GPUBuffer {
  const bits = f32ToF16Bits(uniformStream(seed)(count, 1));
  return gpu.upload(bits.length % 2 === 0 ? bits : Uint16Array.of(...bits, 0));
}

for (const [name, shape] of layouts) {
  for (const keys of args.contexts.split(',').map(Number)) {
    const kvElements = keys * shape.kvHeads * shape.headDim;
    // As in a model's decode, where each layer reads its own cache: copies of the cache, at least
    // defeatL2Bytes of them, each call reading the next (a GPU's L2 cache holds tens of MB).
    const copies = Math.min(16, Math.max(1, Math.ceil(defeatL2Bytes / (4 * kvElements))));
    const spans = Array.from({ length: copies }, (_, i) => ({ keys: f16Buffer(kvElements, 2 * i + 1), values: f16Buffer(kvElements, 2 * i + 2), start: 0, length: keys, firstPosition: 0, dtype: 'f16' as const }));
    const q = gpu.upload(uniformStream(3)(shape.heads * shape.headDim, 1));
    const positions = gpu.upload(Uint32Array.of(keys));
    const out = { o: gpu.buffer(shape.heads * shape.headDim * 4), lse: gpu.buffer(shape.heads * 4) };
    const chosen = decodeChoice(gpu, shape, 1, keys);
    const kernel = chosen.subgroups ? `subgroups ${JSON.stringify(chosen.subgroups)}` : 'workgroup memory';
    const variants: Array<{ label: string; tiles?: NonNullable<AttentionShape['tiles']> }> = [
      { label: `chosen: ${kernel}, split ${chosen.splitKeys}, ${chosen.partials} partials, tile ${chosen.tileRows} rows` },
    ];
    const decode: DecodeTiles = { rows: chosen.tileRows, ...(chosen.subgroups ? { subgroups: chosen.subgroups } : {}) };
    for (const split of args.splits.split(',').filter(Boolean).map(Number)) {
      if (split !== chosen.splitKeys && split < keys) variants.push({ label: `split ${split}`, tiles: { decode, splitKeys: split } });
    }
    if (chosen.subgroups) {
      const layout = chosen.subgroups;
      for (const unroll of args.unrolls.split(',').filter(Boolean).map(Number)) {
        if (unroll !== layout.unroll) variants.push({ label: `unroll ${unroll}`, tiles: { decode: { ...decode, subgroups: { ...layout, unroll } }, splitKeys: chosen.splitKeys } });
      }
      for (const rows of args.rows.split(',').filter(Boolean).map(Number)) {
        if (rows !== chosen.tileRows) variants.push({ label: `tiles of ${rows} rows`, tiles: { decode: { ...decode, rows }, splitKeys: chosen.splitKeys } });
      }
      for (const threads of args.threads.split(',').filter(Boolean).map(Number)) {
        if (threads !== layout.threads) variants.push({ label: `${threads} invocations`, tiles: { decode: { ...decode, subgroups: { ...layout, threads } }, splitKeys: chosen.splitKeys } });
      }
      // The workgroup-memory kernel as a CPU adapter (or a GPU without subgroups) would get it.
      const fallback = decodeChoice({ hasSubgroups: false, adapter: gpu.adapter }, shape, 1, keys);
      variants.push({ label: `workgroup memory (split ${fallback.splitKeys}, tile ${fallback.tileRows} rows)`, tiles: { decode: { rows: fallback.tileRows }, splitKeys: fallback.splitKeys } });
    }
    const subjects = variants.map(({ tiles }) => {
      const variant: AttentionShape = tiles ? { ...shape, tiles } : shape;
      const scratch = gpu.buffer(decodeScratchBytes(gpu, variant, 1, [spans[0]]));
      let call = 0;
      const record: Recorder = (e) => attentionDecode(gpu, e, variant, { q, rows: 1, positions }, [spans[call++ % copies]], scratch, out);
      return { gpu, record };
    });
    // Every variant's output against the first's (the same attention, other rounding of the sums).
    const outputs: Float32Array[] = [];
    for (const subject of subjects) {
      gpu.run((e) => subject.record(e));
      outputs.push(await gpu.readF32(out.o));
    }
    const differences = outputs.map((o) => o.reduce((worst, x, i) => Math.max(worst, Math.abs(x - outputs[0][i])), 0));
    const best = await timeInterleaved(subjects, 5, 3000);
    const bytes = 2 * kvElements * 2;
    for (const [i, v] of variants.entries()) {
      const gpuMs = await gpuTimePerCall(gpu, subjects[i].record);
      const gbps = bytes / (gpuMs / 1000) / 1e9;
      log(`${name.padEnd(14)} ${String(keys).padStart(6)} keys  GPU ${(gpuMs * 1000).toFixed(1).padStart(7)} µs ${gbps.toFixed(0).padStart(6)} GB/s  wall ${(best[i] * 1000).toFixed(1).padStart(7)} µs  max |ΔO| ${differences[i].toExponential(1)}  ${v.label}`);
      results.push({ layout: name, keys, variant: v.label, splitKeys: v.tiles?.splitKeys ?? chosen.splitKeys, gpuMs, wallMs: best[i], gbps, maxDifference: differences[i] });
    }
    for (const b of [...spans.flatMap((span) => [span.keys, span.values]), q, positions, out.o, out.lse]) b.destroy();
  }
}
if (args.out) await writeFile(args.out, `${JSON.stringify({ adapter: gpu.adapter.description, date: new Date().toISOString(), results }, null, 2)}\n`);
gpu.destroy();
process.exit(0);
