// One real WebGPU device per test file (Dawn on lavapipe in Node), created lazily.
import { afterAll } from 'vitest';
import { Gpu } from '../../src/gpu/gpu.ts';

let shared: Promise<Gpu> | undefined;

export function testGpu(): Promise<Gpu> {
  shared ??= Gpu.create();
  return shared;
}

afterAll(async () => {
  if (shared) (await shared).destroy();
});
