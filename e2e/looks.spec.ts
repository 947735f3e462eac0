// The app's main states with the real engine and the demo model, each saved at 1280×800 and 390×844
// (test-results/screenshots/) to be looked at: the model panel, the downloaded-models list, settings,
// a loaded document, an answer with its stats, and the embedded component. Each state is also checked
// for the faults screenshots show: horizontal scrolling, and text cut off by its box.
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { askAndWait, harbourReport, loadDemoModel, pasteDocument, setMaxTokens } from './support/app.ts';
import { expectText, expectVisible, narrowViewport, suite, wideViewport } from './support/harness.ts';

const t = suite('looks');

/** Elements whose text overflows their box without a way to scroll to it, at both sizes. */
async function layoutFaults(page: Page): Promise<string[]> {
  const faults: string[] = [];
  for (const viewport of [wideViewport, narrowViewport]) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(100);
    const found = await page.evaluate(() => {
      const out: string[] = [];
      const wide = document.documentElement.scrollWidth - window.innerWidth;
      if (wide > 0) out.push(`the page scrolls sideways by ${wide}px`);
      for (const el of document.querySelectorAll<HTMLElement>('.sr-root *')) {
        const style = getComputedStyle(el);
        if (style.display === 'none' || style.visibility === 'hidden' || el.closest('.visually-hidden')) continue;
        const scrolls = /(auto|scroll)/.test(style.overflowX + style.overflowY);
        const clips = style.textOverflow === 'ellipsis';
        if (!scrolls && !clips && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0 && style.overflowX === 'hidden') {
          out.push(`${el.tagName.toLowerCase()}.${el.className}: text cut off (${el.scrollWidth} > ${el.clientWidth})`);
        }
      }
      return out;
    });
    faults.push(...found.map((f) => `${viewport.width}×${viewport.height}: ${f}`));
  }
  await page.setViewportSize(wideViewport);
  return faults;
}

t.test('model panel, downloaded models and settings', async ({ page, url, screenshots }) => {
  await page.goto(url());
  await expectText(page.getByTestId('adapter-name'), /swiftshader/i);
  await screenshots('model-panel', { at: page.getByTestId('model-panel') });
  assert.deepEqual(await layoutFaults(page), []);
  await loadDemoModel(page);
  await page.getByRole('button', { name: 'Change model' }).click();
  const cached = page.getByTestId('cached-models');
  await cached.locator('summary').click();
  await expectText(cached.getByTestId('cached-model'), /models\/demo\//);
  await screenshots('cached-models', { at: cached });
  await page.getByRole('button', { name: 'Keep this model' }).click();
  const settings = page.getByTestId('settings-panel');
  await settings.getByLabel('Fixed', { exact: true }).check();
  await settings.getByLabel('GPU memory budget (GB)', { exact: true }).fill('8');
  await expectVisible(page.getByTestId('apply-engine'));
  await screenshots('settings', { at: settings });
  assert.deepEqual(await layoutFaults(page), []);
});

t.test('a document, then an answer with its stats', async ({ page, url, screenshots }) => {
  await page.goto(url());
  await setMaxTokens(page, 8);
  await loadDemoModel(page);
  await pasteDocument(page, harbourReport);
  await expectVisible(page.getByTestId('token-count'), 60_000);
  await screenshots('document-loaded', { at: page.getByTestId('document-panel') });
  await page.getByTestId('encode').click();
  await expectVisible(page.getByTestId('encode-progress'), 60_000).catch(() => undefined);
  await expectVisible(page.getByTestId('encode-stats'), 120_000);
  await askAndWait(page, 'How many ships came in March, and how many in April?');
  await askAndWait(page, 'Which month was busier?');
  await screenshots('answered', { at: page.getByTestId('chat-panel') });
  assert.deepEqual(await layoutFaults(page), []);
});

t.test('390×844 after scrolling to the settings and back: no band above the header', async ({ page, url, screenshot }) => {
  await page.goto(url());
  // As the screenshots helper does: the wide layout first (the app is the window's height there, its
  // side column scrolled inside it), then the phone size, scrolled to the settings.
  await page.getByTestId('settings-panel').getByLabel('Max tokens', { exact: true }).scrollIntoViewIfNeeded();
  await page.setViewportSize(narrowViewport);
  await page.getByTestId('settings-panel').getByLabel('Max tokens', { exact: true }).scrollIntoViewIfNeeded();
  await page.waitForTimeout(150);
  // Scrolled: what fills the top edge is the page's content, not the bare background.
  const topWhileScrolled = await page.evaluate(() => document.elementFromPoint(195, 2)?.closest('.panel, .app-main, .app-header')?.className ?? 'nothing');
  assert.notEqual(topWhileScrolled, 'nothing', 'the top edge shows content while scrolled');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(150);
  const header = await page.evaluate(() => {
    const rect = document.querySelector('.app-header')!.getBoundingClientRect();
    return { top: rect.top, atTopEdge: !!document.elementFromPoint(195, 1)?.closest('.app-header') };
  });
  assert.deepEqual(header, { top: 0, atTopEdge: true });
  await screenshot('narrow-scrolled-back-390x844');
});

t.test('the embedded component on a host page', async ({ page, url, screenshots }) => {
  await page.goto(url('e2e/embed.html'));
  await expectText(page.getByTestId('status'), /is ready/, 120_000);
  await screenshots('embed', { at: page.getByTestId('star-reader') });
  assert.deepEqual(await layoutFaults(page), []);
});

await t.run();
