// `npm run bench:kernels`: each kernel alone (bench/kernel-suite.ts) in Node (Dawn), with the adapter's
// name; writes bench/results/kernels.json. `-- --quick` runs the small shapes only (kernels-quick.json).
// `-- --browser` runs the same suite in Debian's Chromium (bench/browser/kernels.html) and writes
// kernels-browser.json (kernels-browser-quick.json with --quick).
import { mkdir, writeFile } from 'node:fs/promises';
import { Gpu } from '../src/gpu/gpu.ts';
import { runKernelSuite, type KernelReport } from './kernel-suite.ts';
import { runBenchPage } from './browser/run-page.ts';

const quick = process.argv.includes('--quick');
const browser = process.argv.includes('--browser');

async function inNode(): Promise<KernelReport> {
  const gpu = await Gpu.create();
  const noSubgroups = gpu.hasSubgroups ? await Gpu.create({ subgroups: false }) : undefined;
  try {
    return await runKernelSuite({ gpu, noSubgroups }, { quick, log: (line) => console.log(line) });
  } finally {
    noSubgroups?.destroy();
    gpu.destroy();
  }
}

async function inBrowser(): Promise<KernelReport> {
  console.log('kernels in Chromium (progress from the page):');
  // SwiftShader is several times slower than lavapipe: the full shapes take the better part of an hour.
  const { result, adapter } = await runBenchPage<KernelReport>('bench/browser/kernels.html', {
    query: quick ? { quick: '1' } : {},
    timeoutMs: (quick ? 30 : 120) * 60_000,
  });
  return { ...result, adapter };
}

const report = browser ? await inBrowser() : await inNode();
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
const name = `kernels${browser ? '-browser' : ''}${quick ? '-quick' : ''}.json`;
await writeFile(new URL(`./results/${name}`, import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
console.log(`wrote bench/results/${name}`);
process.exit(0);
