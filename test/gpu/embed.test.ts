import { describe, expect, it } from 'vitest';
import { embed } from '../../src/gpu/kernels/embed.ts';
import type { LinearWeight } from '../../src/gpu/kernels/linear.ts';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../src/model/dtype.ts';
import { embedRef } from '../reference/embed.ts';
import { dequantize, quantize } from '../../src/model/formats/quantize.ts';
import { testGpu } from '../support/gpu.ts';
import { randomArray } from '../support/random.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';

const [vocab, hidden] = [1000, 72];
const table = randomArray(vocab * hidden, 1);
// first and last rows, repeats, and ids past the vocabulary (which must give zeros, not a stray read)
const ids = Uint32Array.from([0, 999, 5, 5, 1000, 0xffffffff, 512, 300, 299, 700, 1]);

/** The table as a LinearWeight cut into row ranges of the given sizes. */
function tableWeight(gpu: Gpu, split: number[]): LinearWeight {
  let row = 0;
  const parts = split.map((n) => {
    const t = gpu.tensorFrom(table.slice(row * hidden, (row + n) * hidden), 'f32', [n, hidden]);
    row += n;
    return t;
  });
  return { parts, outs: vocab, ins: hidden };
}

async function lookUp(gpu: Gpu, weight: LinearWeight, tokenIds: Uint32Array): Promise<Float32Array> {
  const rows = tokenIds.length;
  // Filled with NaN so that any element the kernel fails to write shows up.
  const out = gpu.tensorFrom(new Float32Array(rows * hidden).fill(NaN), 'f32', [rows, hidden]);
  gpu.run((enc) => embed(gpu, enc, weight, gpu.upload(tokenIds), out, rows));
  return gpu.readF32(out);
}

describe('embed (token id → hidden row)', () => {
  it('one f32 table; ids ≥ vocab give zeros', async () => {
    const gpu = await testGpu();
    expect(await lookUp(gpu, tableWeight(gpu, [vocab]), ids)).toEqual(embedRef(table, ids, hidden));
  });

  it('a table split into row ranges reads each id from its range', async () => {
    const gpu = await testGpu();
    expect(await lookUp(gpu, tableWeight(gpu, [300, 212, 488]), ids)).toEqual(embedRef(table, ids, hidden));
  });

  it('one row', async () => {
    const gpu = await testGpu();
    const one = Uint32Array.from([777]);
    expect(await lookUp(gpu, tableWeight(gpu, [vocab]), one)).toEqual(embedRef(table, one, hidden));
  });

  for (const format of ['q8', 'q4'] as const) {
    it(`${format} table: rows of the dequantized values`, async () => {
      const gpu = await testGpu();
      const [v, h] = [37, 64];
      const packed = quantize(format, randomArray(v * h, 3));
      const part = { buffer: gpu.upload(packed.data), scales: gpu.upload(packed.scales), dtype: 'u32', shape: [v, h], format } as const;
      const weight: LinearWeight = { parts: [part], outs: v, ins: h };
      const tokenIds = Uint32Array.from([36, 0, 1, 37, 18]);
      const out = gpu.tensor('f32', [tokenIds.length, h]);
      gpu.run((enc) => embed(gpu, enc, weight, gpu.upload(tokenIds), out, tokenIds.length));
      expect(await gpu.readF32(out)).toEqual(embedRef(dequantize(packed), tokenIds, h));
    });
  }

  // 16-bit tables stay packed as on disk, read on every adapter (no shader-f16 needed).
  for (const [format, bits, widen] of [['f16', f32ToF16Bits, f16BitsToF32], ['bf16', f32ToBf16Bits, bf16BitsToF32]] as const) {
    it(`${format} table (rows that are not a whole number of 4-byte words)`, async () => {
      const gpu = await testGpu();
      const [v, h] = [37, 7];
      const packed = bits(randomArray(v * h, 2));
      const weight: LinearWeight = { parts: [gpu.tensorFrom(packed, format, [v, h])], outs: v, ins: h };
      const tokenIds = Uint32Array.from([36, 0, 1, 37, 18]);
      const out = gpu.tensor('f32', [tokenIds.length, h]);
      gpu.run((enc) => embed(gpu, enc, weight, gpu.upload(tokenIds), out, tokenIds.length));
      expect(await gpu.readF32(out)).toEqual(embedRef(widen(packed), tokenIds, h));
    });
  }
});
