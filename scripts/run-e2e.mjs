#!/usr/bin/env node
// Runs the app's browser tests: starts a Vite dev server on a free 127.0.0.1 port, runs each
// e2e/*.spec.ts as its own Node process (through tsx) against it, and prints "N passed, N failed".
//   node scripts/run-e2e.mjs [name-filter…]
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);
const specTimeoutMs = 10 * 60_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function runSpec(file, baseUrl) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, E2E_BASE_URL: baseUrl, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let result;
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) {
        if (line.startsWith('E2E_RESULT ')) result = JSON.parse(line.slice('E2E_RESULT '.length));
        else console.log(line);
      }
    });
    const timer = setTimeout(() => {
      console.log(`  ✗ ${path.basename(file)} timed out after ${specTimeoutMs / 1000} s`);
      child.kill('SIGKILL');
    }, specTimeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (!result) {
        console.log(`  ✗ ${path.basename(file)} ended (exit ${code}) without reporting results`);
        resolve({ passed: 0, failed: 1 });
      } else resolve(code === 0 || result.failed > 0 ? result : { ...result, failed: result.failed + 1 });
    });
  });
}

const specs = (await readdir(path.join(root, 'e2e')))
  .filter((f) => f.endsWith('.spec.ts') && (filters.length === 0 || filters.some((x) => f.includes(x))))
  .sort()
  .map((f) => path.join('e2e', f));
if (specs.length === 0) {
  console.log('0 passed, 0 failed (no e2e specs matched)');
  process.exit(1);
}

const nodeOnly = new Set(['tsx', 'webgpu']);
const { dependencies = {} } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
const browserDependencies = [
  ...Object.keys(dependencies).filter((name) => !nodeOnly.has(name) && name !== 'react' && name !== 'react-dom'),
  'react',
  'react/jsx-runtime',
  'react/jsx-dev-runtime',
  'react-dom',
  'react-dom/client',
];

const port = await freePort();
const server = await createServer({
  root,
  logLevel: process.env.E2E_VITE_LOG ?? 'warn',
  clearScreen: false,
  // No HMR and no file watching: other people's edits during a run must not reload a page mid-test.
  server: { host: '127.0.0.1', port, strictPort: true, hmr: false, watch: null },
  // Pre-bundle every browser dependency up front (the engine's too, which loads lazily): a dependency
  // found late makes Vite reload the page mid-test.
  optimizeDeps: { entries: ['index.html', 'e2e/**/*.html'], include: browserDependencies },
});
await server.listen();
const baseUrl = `http://127.0.0.1:${port}/`;
console.log(`e2e: Vite dev server at ${baseUrl}`);

let passed = 0;
let failed = 0;
try {
  for (const spec of specs) {
    const result = await runSpec(spec, baseUrl);
    passed += result.passed;
    failed += result.failed;
  }
} finally {
  await server.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
