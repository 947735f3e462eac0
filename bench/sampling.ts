// `npx tsx bench/sampling.ts`: one decode step's token choice for Qwen's vocabulary (151,936) on this
// adapter, GPU sampling (src/model/gpu-sampler.ts) against reading the logits back and sampling on the
// CPU (src/model/sampling.ts), greedy and with Qwen's generation_config, a 100,000-id prompt penalised.
// Prints the median of each over the timed steps; the logits are already on the GPU, as after lm_head.
import { Gpu } from '../src/gpu/gpu.ts';
import { GpuSampler } from '../src/model/gpu-sampler.ts';
import { createSampler, type SamplingOptions } from '../src/model/sampling.ts';
import { uniformStream } from '../src/model/synthetic-weights.ts';

const vocab = 151_936;
const steps = Number(process.argv[2] ?? 30);
const greedy: SamplingOptions = { temperature: 0 };
const qwen: SamplingOptions = { temperature: 0.7, topK: 20, topP: 0.8, repetitionPenalty: 1.05, seed: 1 };

const gpu = await Gpu.create();
const values = uniformStream(7)(vocab, 8);
const logits = gpu.upload(Float32Array.from(values, (v, i) => (i % 997 === 0 ? v + 6 : v)));
const prompt = Array.from(uniformStream(8)(100_000, 0.5), (v) => Math.floor((v + 0.5) * vocab) % vocab);

async function medianMs(step: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await step(); // pipelines compiled, buffers warm
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    await step();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[times.length >> 1];
}

async function onGpu(options: SamplingOptions): Promise<number> {
  const sampler = new GpuSampler(gpu, options, vocab);
  sampler.observe(prompt);
  const ms = await medianMs(async () => {
    gpu.run((encoder) => sampler.record(encoder, logits));
    await sampler.read();
  });
  if (sampler.counts.fullRow > 0) throw new Error('the benchmark row should be settled by the candidates');
  sampler.destroy();
  return ms;
}

async function onCpu(options: SamplingOptions): Promise<number> {
  const sampler = createSampler(options, vocab);
  const previous = [...prompt];
  return medianMs(async () => {
    const row = new Float32Array(await gpu.read(logits, vocab * 4));
    previous.push(sampler.sample(row, previous));
  });
}

console.log(`adapter: ${gpu.adapter.description || gpu.adapter.architecture} (${gpu.adapter.vendor}), subgroups: ${gpu.hasSubgroups}`);
console.log(`vocab ${vocab}, median of ${steps} steps (ms)`);
for (const [name, options] of [
  ['greedy', greedy],
  ['qwen top-k 20 top-p 0.8 penalty 1.05', qwen],
] as const) {
  const gpuMs = await onGpu(options);
  const cpuMs = await onCpu(options);
  console.log(`${name.padEnd(38)} GPU sampler ${gpuMs.toFixed(2).padStart(7)}   read logits + CPU ${cpuMs.toFixed(2).padStart(7)}`);
}
logits.destroy();
gpu.destroy();
process.exit(0);
