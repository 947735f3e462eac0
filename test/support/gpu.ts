// One real WebGPU device per test file, created lazily: Dawn on lavapipe in Node (project "gpu"),
// Chromium's WebGPU on SwiftShader in the browser (project "browser"). Same test files in both.
import { afterAll } from 'vitest';
import { Gpu } from '../../src/gpu/gpu.ts';

let shared: Promise<Gpu> | undefined;

export function testGpu(): Promise<Gpu> {
  shared ??= Gpu.create();
  return shared;
}

/** True in the Chromium project. SwiftShader there has no shader-f16; lavapipe in Node has it. */
export const inBrowser = typeof window !== 'undefined';

afterAll(async () => {
  if (shared) (await shared).destroy();
});
