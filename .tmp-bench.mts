import { Gpu } from './src/gpu/gpu.ts';
import { f32ToF16Bits } from './src/model/dtype.ts';
const gpu = await Gpu.create();
const outs = Number(process.env.OUTS ?? 4096), ins = Number(process.env.INS ?? 2048);
const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
const wf = rand(outs * ins);
for (const dtype of ['f32', 'f16'] as const) {
  const w = dtype === 'f32' ? gpu.tensorFrom(wf, 'f32', [outs, ins]) : gpu.tensorFrom(f32ToF16Bits(wf), 'f16', [outs, ins]);
  const x = gpu.tensorFrom(rand(8 * ins), 'f32', [8, ins]);
  const y = gpu.tensor('f32', [8, outs]);
  for (const kind of ['tiled', 'matvec']) {
    for (let rows = 1; rows <= 8; rows++) {
      const pipeline = kind === 'tiled' ? gpu.pipeline('linear', { aliases: { W: dtype } }) : gpu.pipeline('matvec', { aliases: { W: dtype }, constants: { ROWS: rows } });
      const params = gpu.uniform([['u32', rows], ['u32', outs], ['u32', ins], ['u32', outs], ['u32', 0], ['u32', 0]]);
      const grid: [number, number] = kind === 'tiled' ? [Math.ceil(outs / 64), Math.ceil(rows / 64)] : [Math.ceil(outs / (256 / 256)), 1];
      const run = (n: number) => gpu.run((enc) => { for (let i = 0; i < n; i++) gpu.dispatch(enc, pipeline, [params, x.buffer, w.buffer, w.buffer, y.buffer], grid); });
      run(1); await gpu.finish();
      const reps = 5;
      const t0 = performance.now();
      run(reps); await gpu.finish();
      const ms = (performance.now() - t0) / reps;
      console.log(`${dtype} ${kind.padEnd(6)} rows=${rows} ${ms.toFixed(2)} ms  ${(outs * ins * (dtype === 'f32' ? 4 : 2) / ms / 1e6).toFixed(2)} GB/s`);
    }
  }
}
gpu.destroy();
