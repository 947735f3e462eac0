import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { testGpu } from '../support/gpu.ts';

// acc[i] += x[i] for i < count, with the uniform given: the smallest kernel whose result shows which
// uniform content a dispatch saw.
function addWith(gpu: Gpu, encoder: GPUCommandEncoder, params: GPUBuffer, x: GPUBuffer, acc: GPUBuffer): void {
  gpu.dispatch(encoder, gpu.pipeline('add'), [params, x, acc], [1]);
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

  it('a slot uniform keeps its buffer across submissions while each submission sees its own content', async () => {
    const gpu = await testGpu();
    const { x, acc } = await ones(gpu, 8);
    const slot = (count: number, encoder: GPUCommandEncoder) => gpu.slotUniform(encoder, 'recording test', [['u32', count]]);
    const buffers = new Set<GPUBuffer>();
    // Each submission adds 1 to the first `count` elements; submitted without waiting in between.
    for (const count of [2, 4, 6, 8]) {
      const encoder = gpu.encoder();
      const params = slot(count, encoder);
      buffers.add(params);
      addWith(gpu, encoder, params, x, acc);
      gpu.submit(encoder);
    }
    expect(buffers.size).toBe(1);
    expect(Array.from(await gpu.readF32(acc)).slice(0, 8)).toEqual([4, 4, 3, 3, 2, 2, 1, 1]);
  });

  it('a slot asked for two contents in one recording gives the second its own buffer', async () => {
    const gpu = await testGpu();
    const { x, acc } = await ones(gpu, 8);
    const encoder = gpu.encoder();
    const first = gpu.slotUniform(encoder, 'recording test 2', [['u32', 3]]);
    addWith(gpu, encoder, first, x, acc);
    const second = gpu.slotUniform(encoder, 'recording test 2', [['u32', 7]]);
    addWith(gpu, encoder, second, x, acc);
    gpu.submit(encoder);
    expect(second).not.toBe(first);
    expect(Array.from(await gpu.readF32(acc)).slice(0, 8)).toEqual([2, 2, 2, 1, 1, 1, 1, 0]);
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
