import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { existsSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Fixtures also come from ../shared beside the repository (hf-golden-families). Vite checks a served
// file's real path against fs.allow, so a ../shared that is a link is allowed by its target.
const sharedDir = fileURLToPath(new URL('../shared', import.meta.url));
const shared = existsSync(sharedDir) ? realpathSync(sharedDir) : sharedDir;

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
      {
        // The same GPU test files in Debian's Chromium (WebGPU on SwiftShader): the browser build path.
        server: { fs: { allow: ['.', shared] } },
        test: {
          name: 'browser',
          include: ['test/gpu/**/*.test.ts'],
          exclude: ['test/gpu/**/*.node.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 120_000,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: {
                executablePath: '/usr/bin/chromium',
                args: [
                  '--no-sandbox',
                  '--enable-unsafe-webgpu',
                  '--disable-background-networking',
                  '--disable-component-update',
                  '--disable-sync',
                  '--no-first-run',
                ],
              },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
