import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { testGpu } from '../support/gpu.ts';
import { addPipeline } from '../../src/gpu/kernels/elementwise.ts';

// acc[i] += x[i] for i < count, with the uniform given: the smallest kernel whose result shows which
// uniform content a dispatch saw.
function addWith(gpu: Gpu, encoder: GPUCommandEncoder, params: GPUBuffer, x: GPUBuffer, acc: GPUBuffer): void {
  gpu.dispatch(encoder, addPipeline(gpu), [params, x, acc], [1]);
}

async function ones(gpu: Gpu, n: number): Promise<{ x: GPUBuffer; acc: GPUBuffer }> {
  return { x: gpu.upload(new Float32Array(n).fill(1)), acc: gpu.upload(new Float32Array(n)) };
}

describe('recording: passes, bind groups and uniforms', () => {
  it('a dispatch recorded before the uniform cache overflows still runs (more uniforms than the cache holds, one submit)', async () => {
    const gpu = await testGpu();
    const { x, acc } = await ones(gpu, 8);
    const encoder = gpu.encoder();
    addWith(gpu, encoder, gpu.uniform([['u32', 5]]), x, acc);
    // Distinct contents, more than the cache keeps: the first uniform must outlive its eviction.
    for (let i = 0; i < 4200; i++) gpu.uniform([['u32', 1000 + i]]);
    gpu.submit(encoder);
    expect(Array.from(await gpu.readF32(acc)).slice(0, 8)).toEqual([1, 1, 1, 1, 1, 0, 0, 0]);
  });

  it('every dispatch of one encoder shares one compute pass; a copy closes it', async () => {
    const gpu = await testGpu();
    const { x, acc } = await ones(gpu, 4);
    const params = gpu.uniform([['u32', 4]]);
    const before = { ...gpu.counters };
    const encoder = gpu.encoder();
    for (let i = 0; i < 10; i++) addWith(gpu, encoder, params, x, acc);
    gpu.copy(encoder, acc, 0, x, 0, 16);
    addWith(gpu, encoder, params, x, acc);
    gpu.submit(encoder);
    expect(gpu.counters.dispatches - before.dispatches).toBe(11);
    expect(gpu.counters.passes - before.passes).toBe(2);
    // 10 adds give acc = 10, copied to x; then acc += x: 20. Each dispatch saw the previous one's writes.
    expect(Array.from(await gpu.readF32(acc)).slice(0, 4)).toEqual([20, 20, 20, 20]);
  });

  it('a bind group is made once for the same pipeline and buffers', async () => {
    const gpu = await testGpu();
    const { x, acc } = await ones(gpu, 4);
    const params = gpu.uniform([['u32', 4]]);
    gpu.run((encoder) => addWith(gpu, encoder, params, x, acc));
    const made = gpu.counters.bindGroupsMade;
    for (let i = 0; i < 5; i++) gpu.run((encoder) => addWith(gpu, encoder, params, x, acc));
    expect(gpu.counters.bindGroupsMade).toBe(made);
    gpu.run((encoder) => addWith(gpu, encoder, params, acc, x)); // other buffers: a new one
    expect(gpu.counters.bindGroupsMade).toBe(made + 1);
  });

  it('a recording replays its dispatches and copies on another encoder, in order, with the buffers\' new contents', async () => {
    const gpu = await testGpu();
    const { x, acc } = await ones(gpu, 4);
    const params = gpu.uniform([['u32', 4]]);
    const encoder = gpu.encoder();
    gpu.startRecording(encoder);
    addWith(gpu, encoder, params, x, acc); // acc += x
    gpu.copy(encoder, acc, 0, x, 0, 16); // x = acc
    addWith(gpu, encoder, params, x, acc); // acc += x
    const recording = gpu.stopRecording(encoder);
    addWith(gpu, encoder, params, x, acc); // after stopRecording: not kept
    gpu.submit(encoder);
    expect(recording.commands).toHaveLength(3);
    expect(Array.from(await gpu.readF32(acc))).toEqual([3, 3, 3, 3]); // acc 1, x 1, acc 2, acc 3
    // Replayed twice from acc = 1, x = 5: acc 6, x 6, acc 12; then acc 18, x 18, acc 36.
    gpu.write(acc, new Float32Array(4).fill(1));
    gpu.write(x, new Float32Array(4).fill(5));
    const before = { ...gpu.counters };
    const replayed = gpu.encoder();
    gpu.replay(replayed, recording);
    gpu.replay(replayed, recording);
    gpu.submit(replayed);
    expect(Array.from(await gpu.readF32(acc))).toEqual([36, 36, 36, 36]);
    expect(gpu.counters.dispatches - before.dispatches).toBe(4);
    expect(gpu.counters.bindGroupsMade - before.bindGroupsMade).toBe(0);
  });

  it('stopRecording without startRecording is refused', async () => {
    const gpu = await testGpu();
    expect(() => gpu.stopRecording(gpu.encoder())).toThrow('stopRecording without startRecording');
  });

  it('reads reuse their staging buffers', async () => {
    const gpu = await testGpu();
    const buffer = gpu.upload(Float32Array.from([1, 2, 3, 4]));
    await gpu.readF32(buffer);
    const created = countCreatedBuffers(gpu);
    for (let i = 0; i < 5; i++) expect(Array.from(await gpu.readF32(buffer))).toEqual([1, 2, 3, 4]);
    expect(created.count()).toBe(0);
    created.restore();
  });
});

/** Counts buffers the device creates from now on (restore() stops counting). */
function countCreatedBuffers(gpu: Gpu): { count: () => number; restore: () => void } {
  const device = gpu.device;
  const original = device.createBuffer.bind(device);
  let n = 0;
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    n++;
    return original(descriptor);
  };
  return { count: () => n, restore: () => { device.createBuffer = original; } };
}
