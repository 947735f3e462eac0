// A small test harness for e2e specs run as plain Node scripts by scripts/run-e2e.mjs: each test gets a
// fresh browser context and page; uncaught page errors fail the test; the last line reports the counts.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';

export const baseUrl = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:5173/';
export const screenshotDir = path.resolve('test-results/screenshots');

/** The two sizes every main state is looked at in: a laptop window and a phone. */
export const wideViewport = { width: 1280, height: 800 };
export const narrowViewport = { width: 390, height: 844 };

export interface TestContext {
  page: Page;
  context: BrowserContext;
  browser: Browser;
  /** Resolves a path against the dev server, e.g. url('e2e/embed.html'). */
  url: (path?: string) => string;
  screenshot: (name: string, options?: { fullPage?: boolean }) => Promise<string>;
  /**
   * `<name>-1280x800.png` and `<name>-390x844.png`: the page at both sizes (the narrow one scrolled to
   * `at`, the part the state is about), then the test's own size again.
   */
  screenshots: (name: string, options?: { at?: Locator }) => Promise<void>;
}

interface TestCase {
  name: string;
  fn: (t: TestContext) => Promise<void>;
  viewport: { width: number; height: number };
  /** Runs before the page's own scripts (e.g. to hide WebGPU). */
  initScript?: string;
}

/** Tests of plain modules, no browser: same runner, same report line. */
export function nodeSuite(title: string) {
  const tests: Array<{ name: string; fn: () => Promise<void> | void }> = [];
  return {
    test(name: string, fn: () => Promise<void> | void) {
      tests.push({ name, fn });
    },
    async run(): Promise<void> {
      let passed = 0;
      let failed = 0;
      console.log(`# ${title}`);
      for (const test of tests) {
        try {
          await test.fn();
          passed++;
          console.log(`  ✓ ${test.name}`);
        } catch (error) {
          failed++;
          console.log(`  ✗ ${test.name}\n    ${String((error as Error).stack ?? error).split('\n').join('\n    ')}`);
        }
      }
      console.log(`E2E_RESULT ${JSON.stringify({ passed, failed })}`);
      process.exitCode = failed ? 1 : 0;
    },
  };
}

export function suite(title: string) {
  const tests: TestCase[] = [];
  return {
    test(
      name: string,
      fn: TestCase['fn'],
      options: { viewport?: TestCase['viewport']; initScript?: string } = {},
    ) {
      tests.push({ name, fn, viewport: options.viewport ?? wideViewport, initScript: options.initScript });
    },

    async run(): Promise<void> {
      await mkdir(screenshotDir, { recursive: true });
      const browser = await launchChromium();
      let passed = 0;
      let failed = 0;
      console.log(`# ${title}`);
      for (const test of tests) {
        const context = await browser.newContext({ viewport: test.viewport });
        if (test.initScript) await context.addInitScript(test.initScript);
        const page = await context.newPage();
        page.setDefaultTimeout(15_000);
        const pageErrors: string[] = [];
        page.on('pageerror', (error) => pageErrors.push(error.stack ?? error.message));
        const started = performance.now();
        try {
          await test.fn({
            page,
            context,
            browser,
            url: (p = '') => new URL(p, baseUrl).href,
            screenshot: async (name, options = {}) => {
              const file = path.join(screenshotDir, `${name}.png`);
              await page.screenshot({ path: file, fullPage: options.fullPage ?? false });
              return file;
            },
            screenshots: async (name, options = {}) => {
              const size = page.viewportSize() ?? test.viewport;
              for (const viewport of [wideViewport, narrowViewport]) {
                await page.setViewportSize(viewport);
                if (options.at) await options.at.first().scrollIntoViewIfNeeded();
                // Let layout and the progress/scroll effects settle after the resize.
                await page.waitForTimeout(150);
                await page.screenshot({ path: path.join(screenshotDir, `${name}-${viewport.width}x${viewport.height}.png`) });
              }
              await page.setViewportSize(size);
            },
          });
          if (pageErrors.length) throw new Error(`Uncaught error in the page:\n${pageErrors.join('\n')}`);
          passed++;
          console.log(`  ✓ ${test.name} (${Math.round(performance.now() - started)} ms)`);
        } catch (error) {
          failed++;
          console.log(`  ✗ ${test.name}\n    ${String((error as Error).stack ?? error).split('\n').join('\n    ')}`);
          await page
            .screenshot({ path: path.join(screenshotDir, `FAILED-${title}-${test.name}.png`.replace(/[^\w.-]+/g, '_')) })
            .catch(() => undefined);
        } finally {
          await context.close();
        }
      }
      await browser.close();
      console.log(`E2E_RESULT ${JSON.stringify({ passed, failed })}`);
      process.exitCode = failed ? 1 : 0;
    },
  };
}

/** Waits until the locator's text matches. */
export async function expectText(locator: Locator, pattern: RegExp, timeout = 15_000): Promise<string> {
  const deadline = Date.now() + timeout;
  let last = '';
  while (Date.now() < deadline) {
    last = (await locator.first().textContent().catch(() => null)) ?? '';
    if (pattern.test(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Expected text matching ${pattern}, last saw: ${JSON.stringify(last.slice(0, 300))}`);
}

export async function expectVisible(locator: Locator, timeout = 15_000): Promise<void> {
  await locator.first().waitFor({ state: 'visible', timeout });
}

export async function expectHidden(locator: Locator, timeout = 15_000): Promise<void> {
  await locator.first().waitFor({ state: 'hidden', timeout });
}

/** Drops files on an element the way a user's drag and drop does (a DataTransfer with File objects). */
export async function dropFiles(
  page: Page,
  selector: string,
  files: Array<{ name: string; type: string } & ({ text: string } | { bytes: Uint8Array })>,
) {
  // Bytes cross into the page as base64: evaluate() arguments are JSON.
  const plain = files.map((f) => ({ name: f.name, type: f.type, text: 'text' in f ? f.text : undefined, base64: 'bytes' in f ? Buffer.from(f.bytes).toString('base64') : undefined }));
  const transfer = await page.evaluateHandle((list) => {
    const data = new DataTransfer();
    for (const f of list) {
      const body = f.base64 === undefined ? f.text! : Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
      data.items.add(new File([body], f.name, { type: f.type }));
    }
    return data;
  }, plain);
  for (const type of ['dragenter', 'dragover', 'drop']) {
    await page.dispatchEvent(selector, type, { dataTransfer: transfer });
  }
}
