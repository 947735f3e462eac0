// `node --import tsx bench/attention-tiles.ts [--tokens 512,1024,2048] [--out DIR]`: causal prefill
// attention alone (one layer) with the f32 flash tile and with its shuffled variant
// (shaders/flash_tile_shuffled.wgsl), timed in the same run, rounds interleaved, fastest of each, for
// Qwen2.5-0.5B's and Llama-3.2-1B's head layouts; and the largest difference between the two outputs.
// The shuffled tile needs subgroups: on lavapipe (VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json)
// it is the default; elsewhere it is timed where the adapter has subgroups.
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Gpu } from '../src/gpu/gpu.ts';
import { choosePrefillKernel, prefillTiles, shuffledTiles, type AttentionShape } from '../src/gpu/kernels/attention.ts';
import { maxAbsDiff } from '../test/support/random.ts';
import { timeInterleaved } from './kernel-suite.ts';
import { ourSide } from './ort/our-side.ts';

const { values: args } = parseArgs({ options: { tokens: { type: 'string' }, out: { type: 'string' } } });
const lengths = (args.tokens ?? '512,1024,2048').split(',').map(Number);

const layouts = [
  { name: 'Qwen2.5-0.5B (14/2 heads, dim 64)', heads: 14, kvHeads: 2, headDim: 64 },
  { name: 'Llama-3.2-1B (32/8 heads, dim 64)', heads: 32, kvHeads: 8, headDim: 64 },
];

const gpu = await Gpu.create();
const lines = [
  `adapter: ${gpu.adapter.description}; default prefill kernel: ${choosePrefillKernel(gpu, { heads: 1, kvHeads: 1, headDim: 64, scale: 1 }).kind}; subgroups ${gpu.hasSubgroups ? `${gpu.adapter.subgroupSizes.min}–${gpu.adapter.subgroupSizes.max}` : 'off'}`,
  '',
  '| layout | tokens | f32 tile | ms | shuffled tile | ms | f32 / shuffled | max abs diff |',
  '|---|---|---|---|---|---|---|---|',
];
console.log(lines[0]);
for (const layout of layouts) {
  const shape: AttentionShape = { ...layout, scale: 1 / Math.sqrt(layout.headDim) };
  const [f32, shuffled] = [prefillTiles(layout.headDim), shuffledTiles(layout.headDim)];
  for (const tokens of lengths) {
    const side = ourSide(gpu, shape, tokens, tokens);
    const candidates: AttentionShape['tiles'][] = [{ prefill: f32 }, { shuffled }];
    const outputs: Float32Array[] = [];
    for (const tiles of candidates) {
      gpu.run((encoder) => side.record(tiles, encoder));
      outputs.push(new Float32Array(await gpu.read(side.o, side.q.byteLength)));
    }
    const [plainMs, shuffledMs] = await timeInterleaved(
      candidates.map((tiles) => ({ gpu, record: (encoder: GPUCommandEncoder) => side.record(tiles, encoder) })),
      3,
      10_000,
    );
    const diff = maxAbsDiff(outputs[0], outputs[1]);
    const f32Label = `${f32.rows}/${f32.lanes}/${f32.keys}`;
    const row = `| ${layout.name} | ${tokens} | ${f32Label} | ${plainMs.toFixed(1)} | ${shuffled.rows}/${shuffled.keys} | ${shuffledMs.toFixed(1)} | ${(plainMs / shuffledMs).toFixed(2)} | ${diff.toExponential(1)} |`;
    console.log(row);
    lines.push(row);
    for (const buffer of side.buffers) buffer.destroy();
  }
}
if (args.out) {
  await mkdir(args.out, { recursive: true });
  await writeFile(`${args.out}/attention-tiles.md`, `${lines.join('\n')}\n`);
}
gpu.destroy();
process.exit(0);
