// `node --import tsx bench/attention-tiles.ts [--tokens 512,1024,2048] [--shuffled 64/16,32/16]
// [--layouts qwen,llama1b,llama8b] [--out DIR]`:
// causal prefill attention alone (one layer) with the f32 flash tile and with its shuffled variant
// (shaders/flash_tile_shuffled.wgsl; its default tiles, or the rows/keys listed), timed in the same
// run, rounds interleaved, fastest of each, for Qwen2.5-0.5B's and Llama-3.2-1B's head layouts (and Llama 3 8B's, head dim 128, if listed); and the
// largest difference of each output from the f32 tile's.
// The shuffled tile needs subgroups: on lavapipe (VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json)
// it is the default; elsewhere it is timed where the adapter has subgroups.
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Gpu } from '../src/gpu/gpu.ts';
import { choosePrefillKernel, prefillTiles, shuffledTiles, type AttentionShape, type ShuffledTiles } from '../src/gpu/kernels/attention.ts';
import { maxAbsDiff } from '../test/support/random.ts';
import { timeInterleaved } from './kernel-suite.ts';
import { ourSide } from './ort/our-side.ts';

const { values: args } = parseArgs({ options: { tokens: { type: 'string' }, shuffled: { type: 'string' }, layouts: { type: 'string' }, out: { type: 'string' } } });
const lengths = (args.tokens ?? '512,1024,2048').split(',').map(Number);

/** The shuffled tiles to time for a head dim: those listed as rows/keys, else the default. */
function shuffledCandidates(headDim: number): ShuffledTiles[] {
  if (!args.shuffled) return [shuffledTiles(gpu, headDim)];
  return args.shuffled.split(',').map((text) => {
    const [rows, keys] = text.split('/').map(Number);
    if (!(rows > 0 && keys > 0)) throw new Error(`shuffled tiles "${text}" are not rows/keys`);
    return { rows, keys };
  });
}

const allLayouts = {
  qwen: { name: 'Qwen2.5-0.5B (14/2 heads, dim 64)', heads: 14, kvHeads: 2, headDim: 64 },
  llama1b: { name: 'Llama-3.2-1B (32/8 heads, dim 64)', heads: 32, kvHeads: 8, headDim: 64 },
  llama8b: { name: 'Llama-3-8B (32/8 heads, dim 128)', heads: 32, kvHeads: 8, headDim: 128 },
};
const layouts = (args.layouts ?? 'qwen,llama1b').split(',').map((name) => {
  const layout = allLayouts[name as keyof typeof allLayouts];
  if (!layout) throw new Error(`No layout "${name}" (${Object.keys(allLayouts).join(', ')})`);
  return layout;
});

const gpu = await Gpu.create();
const lines = [
  `adapter: ${gpu.adapter.description}; default prefill kernel: ${choosePrefillKernel(gpu, { heads: 1, kvHeads: 1, headDim: 64, scale: 1 }).kind}; subgroups ${gpu.hasSubgroups ? `${gpu.adapter.subgroupSizes.min}–${gpu.adapter.subgroupSizes.max}` : 'off'}`,
  '',
  '| layout | tokens | tile (rows/lanes/keys, shuffled rows/keys) | ms | f32 tile / this | max abs diff from the f32 tile |',
  '|---|---|---|---|---|---|',
];
console.log(lines[0]);
for (const layout of layouts) {
  const shape: AttentionShape = { ...layout, scale: 1 / Math.sqrt(layout.headDim) };
  const f32 = prefillTiles(layout.headDim);
  const candidates: AttentionShape['tiles'][] = [{ prefill: f32 }, ...shuffledCandidates(layout.headDim).map((shuffled) => ({ shuffled }))];
  const labels = candidates.map((tiles) => (tiles?.shuffled ? `shuffled ${tiles.shuffled.rows}/${tiles.shuffled.keys}` : `f32 ${f32.rows}/${f32.lanes}/${f32.keys}`));
  for (const tokens of lengths) {
    const side = ourSide(gpu, shape, tokens, tokens);
    const outputs: Float32Array[] = [];
    for (const tiles of candidates) {
      gpu.run((encoder) => side.record(tiles, encoder));
      outputs.push(new Float32Array(await gpu.read(side.o, side.q.byteLength)));
    }
    const ms = await timeInterleaved(
      candidates.map((tiles) => ({ gpu, record: (encoder: GPUCommandEncoder) => side.record(tiles, encoder) })),
      3,
      10_000,
    );
    for (const [i, label] of labels.entries()) {
      const row = `| ${layout.name} | ${tokens} | ${label} | ${ms[i].toFixed(1)} | ${(ms[0] / ms[i]).toFixed(2)} | ${maxAbsDiff(outputs[0], outputs[i]).toExponential(1)} |`;
      console.log(row);
      lines.push(row);
    }
    for (const buffer of side.buffers) buffer.destroy();
  }
}
if (args.out) {
  await mkdir(args.out, { recursive: true });
  await writeFile(`${args.out}/attention-tiles.md`, `${lines.join('\n')}\n`);
}
gpu.destroy();
process.exit(0);
