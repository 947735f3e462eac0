import { defineConfig } from 'vitest/config';

// Two projects: plain unit tests (no GPU) and GPU tests that run real WGSL on Dawn in Node.
// GPU tests share one device per file and run files one after another: lavapipe uses every core.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' } },
      {
        test: {
          name: 'gpu',
          include: ['test/gpu/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
    ],
  },
});
