// The kernel benchmark (bench/kernel-suite.ts) in a browser page, on the page's own GPUDevice.
// `?quick=1` runs the small shapes. `npm run bench:kernels -- --browser` opens it through run-page.ts,
// which receives the report; opened by hand, it prints the table.
import { Gpu } from '../../src/gpu/gpu.ts';
import { runKernelSuite, type KernelReport } from '../kernel-suite.ts';
import { runBenchmarkPage, type Say } from './page.ts';

async function main(say: Say): Promise<KernelReport> {
  const quick = new URLSearchParams(location.search).has('quick');
  const gpu = await Gpu.create();
  const noSubgroups = gpu.hasSubgroups ? await Gpu.create({ subgroups: false }) : undefined;
  try {
    return await runKernelSuite({ gpu, noSubgroups }, { quick, log: say });
  } finally {
    noSubgroups?.destroy();
    gpu.destroy();
  }
}

runBenchmarkPage(main);
