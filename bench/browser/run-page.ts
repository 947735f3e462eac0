// Runs a benchmark page in Debian's Chromium (WebGPU on SwiftShader) and returns what it reports. The
// page is served by a Vite dev server on a free 127.0.0.1 port, so it imports the engine's TypeScript
// directly, exactly as the app does. Protocol: the page prints progress with console.log and finishes by
// calling `window.reportBenchResult(json)` (or `window.reportBenchError(message)`).
import { createServer } from 'vite';
import { launchChromium } from '../../e2e/support/browser.ts';

export interface PageRunOptions {
  /** Query string passed to the page, e.g. { quick: '1' }. */
  query?: Record<string, string>;
  timeoutMs?: number;
}

export async function runBenchPage<T>(pagePath: string, options: PageRunOptions = {}): Promise<{ result: T; adapter: string }> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const server = await createServer({
    // No HMR and no file watching: edits elsewhere in the repo during a run must not reload the page
    // (which restarts the benchmark). Its own dependency cache, found from the page up front: a
    // dependency found late reloads the page too, and the app's cache is shared with other dev servers.
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
    cacheDir: 'node_modules/.vite-bench-page',
    optimizeDeps: { entries: [pagePath] },
    logLevel: 'warn',
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('Vite did not report a port');
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.on('console', (message) => console.error(`  [page] ${message.text()}`));
    page.on('pageerror', (error) => console.error(`  [page error] ${error.message}`));
    const settled = new Promise<T>((resolve, reject) => {
      void page.exposeFunction('reportBenchResult', (json: string) => resolve(JSON.parse(json) as T));
      void page.exposeFunction('reportBenchError', (message: string) => reject(new Error(`benchmark page failed: ${message}`)));
    });
    const query = new URLSearchParams(options.query ?? {}).toString();
    await page.goto(`http://127.0.0.1:${address.port}/${pagePath}${query ? `?${query}` : ''}`);
    const timeoutMs = options.timeoutMs ?? 30 * 60_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`benchmark page did not finish within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      const result = await Promise.race([settled, timeout]);
      const adapter = await page.evaluate(async () => {
        const info = (await navigator.gpu?.requestAdapter())?.info;
        return info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : 'no WebGPU';
      });
      return { result, adapter: `Chromium ${browser.version()}: ${adapter}` };
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await browser.close();
    await server.close();
  }
}
