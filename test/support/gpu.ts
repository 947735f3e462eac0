// One real WebGPU device per test file, created lazily: Dawn on lavapipe in Node (project "gpu"),
// Chromium's WebGPU on SwiftShader in the browser (project "browser"). Same test files in both.
// Kernels with a subgroup path get a second device without subgroups, for their workgroup-memory path.
import { afterAll } from 'vitest';
import { Gpu } from '../../src/gpu/gpu.ts';

const shared = new Map<boolean, Promise<Gpu>>();

/** The file's device; `{ subgroups: false }` gives the file's device without subgroup operations. */
export function testGpu(options: { subgroups?: boolean } = {}): Promise<Gpu> {
  const subgroups = options.subgroups ?? true;
  let gpu = shared.get(subgroups);
  if (!gpu) {
    gpu = Gpu.create({ subgroups });
    shared.set(subgroups, gpu);
  }
  return gpu;
}

/** True in the Chromium project. SwiftShader there has no shader-f16; lavapipe in Node has it. */
export const inBrowser = typeof window !== 'undefined';

/**
 * The two paths of a kernel with subgroup operations, to run its tests on both. lavapipe (subgroups of
 * 8) and SwiftShader (subgroups of 4) both have subgroups, so the first path really uses them.
 */
export const subgroupPaths = [
  { name: 'subgroups', subgroups: true },
  { name: 'workgroup memory', subgroups: false },
] as const;

afterAll(async () => {
  for (const gpu of shared.values()) (await gpu).destroy();
});
