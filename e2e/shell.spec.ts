// The app shell in Debian's Chromium (WebGPU on SwiftShader), with the real app entry (index.html) and
// no model loaded: adapter report, no-WebGPU error, document intake, labels and keyboard, screenshots.
import assert from 'node:assert/strict';
import { dropFiles, expectHidden, expectText, expectVisible, suite } from './support/harness.ts';

const t = suite('shell');

t.test('loads and shows the SwiftShader adapter with its features and limits', async ({ page, url, screenshot }) => {
  await page.goto(url());
  assert.equal(await page.title(), 'Star Reader');
  await expectText(page.getByTestId('adapter-name'), /swiftshader/i);
  await screenshot('reader-1280x800');
  await page.getByTestId('adapter').locator('summary').click();
  await expectVisible(page.getByTestId('adapter-details'));
  await expectText(page.getByTestId('adapter-details'), /Max buffer/);
  await expectText(page.getByTestId('adapter-details'), /Max storage binding/);
  assert.ok((await page.getByTestId('adapter-features').locator('li').count()) >= 1);
  await screenshot('adapter-details-1280x800');
});

t.test(
  'without WebGPU the header says so and what to do',
  async ({ page, url, screenshots }) => {
    await page.goto(url());
    await expectText(page.getByTestId('no-webgpu'), /WebGPU is not available/);
    await expectText(page.getByTestId('no-webgpu'), /Chrome or Edge 113\+/);
    await expectText(page.getByTestId('adapter'), /No WebGPU/);
    await screenshots('no-webgpu', { at: page.getByTestId('no-webgpu') });
  },
  { initScript: "Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });" },
);

t.test('pasted text becomes the document; tokens wait for a model', async ({ page, url }) => {
  await page.goto(url());
  await page.getByRole('button', { name: 'Paste text' }).click();
  const text = 'Call me Ishmael. Some years ago, never mind how long precisely, I thought I would sail about a little.';
  await page.getByLabel("Paste the document's text").fill(text);
  await page.getByRole('button', { name: 'Use pasted text' }).click();
  await expectText(page.getByTestId('document-name'), /^Pasted text$/);
  await expectText(page.getByTestId('document-meta'), new RegExp(`${text.length} characters`));
  await expectVisible(page.getByTestId('token-count-pending'));
  assert.equal(await page.getByTestId('token-count').count(), 0, 'no token count without a model');
  await expectText(page.getByTestId('ask-blocker'), /Load a model first/);
  assert.equal(await page.getByTestId('ask').isDisabled(), true);
});

t.test('a dropped .txt file and a picked .md file become the document', async ({ page, url, screenshot, screenshots }) => {
  await page.goto(url());
  const body = 'Chapter 1\n\nIt was a bright cold day in April, and the clocks were striking thirteen.\n';
  await dropFiles(page, '[data-testid="document-drop"]', [{ name: 'novel.txt', type: 'text/plain', text: body }]);
  await expectText(page.getByTestId('document-name'), /^novel\.txt$/);
  await expectText(page.getByTestId('document-meta'), new RegExp(`TXT · ${body.length} characters`));
  await expectVisible(page.getByTestId('token-count-pending'));
  await screenshot('document-dropped-1280x800');

  await page.getByTestId('document-file').setInputFiles({
    name: 'readme.md',
    mimeType: 'text/markdown',
    buffer: Buffer.from('# Title\n\nSome *markdown* text.\n'),
  });
  await expectText(page.getByTestId('document-name'), /^readme\.md$/);
  await expectText(page.getByTestId('document-meta'), /^MD · /);
  await dropFiles(page, '[data-testid="document-drop"]', [
    { name: 'page.html', type: 'text/html', text: '<html><body><h1>Title</h1><p>Body text.</p><script>x()</script></body></html>' },
  ]);
  await expectText(page.getByTestId('document-name'), /^page\.html$/);
  await expectText(page.getByTestId('document-meta'), /^HTML · /);
  await page.getByRole('button', { name: 'Remove page.html' }).click();
  await expectHidden(page.getByTestId('document-card'));

  await dropFiles(page, '[data-testid="document-drop"]', [{ name: 'data.bin', type: 'application/octet-stream', text: 'x' }]);
  await expectText(page.locator('[data-testid="error"][data-kind="document"]'), /data\.bin.*not supported.*paste the text/);
  await screenshots('document-error', { at: page.locator('[data-testid="error"]') });
});

t.test('every control has a label; settings are reachable and operable by keyboard, focus visible', async ({ page, url }) => {
  await page.goto(url());
  await expectText(page.getByTestId('adapter-name'), /\S/);
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button, a[href], summary, [tabindex]:not([tabindex="-1"])')]
      .filter((el) => {
        const e = el as HTMLElement & { labels?: NodeListOf<HTMLLabelElement> | null };
        const labelled =
          (e.labels && e.labels.length > 0) ||
          e.getAttribute('aria-label') ||
          (e.getAttribute('aria-labelledby') ?? '')
            .split(' ')
            .some((id) => document.getElementById(id)?.textContent?.trim()) ||
          (['BUTTON', 'A', 'SUMMARY'].includes(e.tagName) && e.textContent?.trim());
        return !labelled;
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
  assert.deepEqual(unlabelled, []);

  // Walk the page with Tab and record which settings controls receive focus, and whether it shows.
  const settings = page.getByTestId('settings-panel');
  for (const name of ['Star', 'Auto', 'Hosts', 'Temperature', 'Top-k', 'Top-p', 'Repetition penalty', 'Seed', 'Max tokens']) {
    assert.equal(await settings.getByLabel(name, { exact: true }).count(), 1, `one control labelled "${name}"`);
  }
  await page.locator('body').focus();
  const reached = new Set<string>();
  for (let i = 0; i < 120; i++) {
    await page.keyboard.press('Tab');
    const focus = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || !el.closest('[data-testid="settings-panel"]')) return undefined;
      const label = el.getAttribute('aria-label') ?? (el as HTMLInputElement).labels?.[0]?.textContent?.trim() ?? el.textContent?.trim() ?? '';
      // Hidden radio inputs show focus on their label (see .segmented label:has(input:focus-visible)).
      const shown = el.matches('.segmented input') ? el.parentElement! : el;
      return { label, outline: getComputedStyle(shown).outlineStyle };
    });
    if (focus) {
      reached.add(focus.label);
      assert.notEqual(focus.outline, 'none', `focus is visible on "${focus.label}"`);
    }
  }
  for (const name of ['Star', 'Auto', 'Hosts', 'Temperature', 'Top-k', 'Top-p', 'Repetition penalty', 'Seed', 'Max tokens']) {
    assert.ok(reached.has(name), `Tab reaches "${name}" (reached: ${[...reached].join(', ')})`);
  }

  // Operate by keyboard: arrow keys switch the attention mode; typing sets a number.
  await settings.getByLabel('Star', { exact: true }).focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await settings.getByLabel('Full', { exact: true }).isChecked(), true);
  await settings.getByLabel('Hosts', { exact: true }).fill('3');
  await page.keyboard.press('ArrowUp');
  assert.equal(await settings.getByLabel('Hosts', { exact: true }).inputValue(), '4');
  await settings.getByLabel('Hosts', { exact: true }).fill('9');
  await page.keyboard.press('Tab');
  assert.equal(await settings.getByLabel('Hosts', { exact: true }).inputValue(), '4', 'hosts clamp to 1–4');

  // The next visit finds the settings as they were left.
  await settings.getByLabel('Temperature', { exact: true }).fill('0.7');
  await page.keyboard.press('Tab');
  await page.reload();
  const again = page.getByTestId('settings-panel');
  await expectVisible(again);
  assert.equal(await again.getByLabel('Full', { exact: true }).isChecked(), true, 'attention kept');
  assert.equal(await again.getByLabel('Hosts', { exact: true }).inputValue(), '4', 'hosts kept');
  assert.equal(await again.getByLabel('Temperature', { exact: true }).inputValue(), '0.7', 'temperature kept');
});

t.test('models: recommended list with sizes, demo entry, Hub repo id to resolve/main URL', async ({ page, url }) => {
  await page.goto(url());
  const panel = page.getByTestId('model-panel');
  for (const name of [
    'Qwen2.5-0.5B-Instruct',
    'Qwen2.5-1.5B-Instruct',
    'Qwen3-0.6B',
    'Qwen3-1.7B',
    'Llama-3.2-1B-Instruct',
    'Llama-3.2-3B-Instruct',
    'SmolLM2-1.7B-Instruct',
    'SmolLM2-360M-Instruct',
  ]) {
    await expectVisible(panel.getByText(name, { exact: true }));
  }
  await expectVisible(panel.getByText('≈988 MB · 32K context'));
  await expectVisible(panel.getByText('≈2.47 GB · 128K context'));
  // 4-bit builds, sized by their files.
  await expectVisible(panel.getByText('Llama-3.1-8B-Instruct (4-bit AWQ)', { exact: true }));
  await expectVisible(panel.getByText('≈5.73 GB · 128K context'));
  await expectVisible(panel.getByText(/demo: not trained, it answers by quoting the document/));
  await expectText(page.getByTestId('load-model'), /Load Embedded demo model/);

  const hub = page.getByLabel('Hub repo id');
  await hub.fill('Qwen/Qwen2.5-0.5B-Instruct');
  await expectText(page.getByTestId('hub-url'), /^https:\/\/huggingface\.co\/Qwen\/Qwen2\.5-0\.5B-Instruct\/resolve\/main\/$/);
  await expectText(page.getByTestId('load-model'), /Load Qwen2\.5-0\.5B-Instruct/);
  await hub.fill('https://huggingface.co/someone/Some-Model-7B/tree/main');
  await expectText(page.getByTestId('hub-url'), /^https:\/\/huggingface\.co\/someone\/Some-Model-7B\/resolve\/main\/$/);
  await hub.fill('not a repo');
  await expectText(page.getByTestId('hub-url'), /Not a repo id/);
  assert.equal(await page.getByTestId('load-model').isDisabled(), true);
});

t.test('speedup page is a route and says what it needs first', async ({ page, url, screenshot }) => {
  await page.goto(url());
  await page.getByRole('link', { name: 'Speedup demo' }).click();
  assert.match(page.url(), /#\/speedup$/);
  assert.equal(await page.getByRole('link', { name: 'Speedup demo' }).getAttribute('aria-current'), 'page');
  await expectText(page.getByTestId('speedup-needs'), /Load a model and add a document/);
  await screenshot('speedup-empty-1280x800');
  await page.getByRole('button', { name: 'Go to the Reader' }).click();
  await expectVisible(page.getByTestId('document-panel'));
});

t.test(
  'narrow window (400×800): one column in the order model, document, chat, settings',
  async ({ page, url, screenshot }) => {
    await page.goto(url());
    await expectText(page.getByTestId('adapter-name'), /swiftshader/i);
    await screenshot('reader-400x800');
    await screenshot('reader-400x800-full', { fullPage: true });
    const tops = await page.evaluate(() =>
      ['model-panel', 'document-panel', 'chat-panel', 'settings-panel'].map((id) => {
        const box = document.querySelector(`[data-testid="${id}"]`)!.getBoundingClientRect();
        return { id, top: box.top, left: box.left, width: box.width };
      }),
    );
    for (let i = 1; i < tops.length; i++) assert.ok(tops[i].top > tops[i - 1].top, `${tops[i].id} below ${tops[i - 1].id}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (page is ${overflow}px too wide)`);
    await page.goto(url('#/speedup'));
    await expectVisible(page.getByTestId('speedup-needs'));
    await screenshot('speedup-empty-400x800');
  },
  { viewport: { width: 400, height: 800 } },
);

t.test('embed page mounts <StarReader> from the library entry', async ({ page, url, screenshot }) => {
  await page.goto(url('e2e/embed.html'));
  await expectVisible(page.getByTestId('star-reader'));
  await expectVisible(page.getByLabel('Question', { exact: true }));
  await expectText(page.getByTestId('status'), /\S/);
  await screenshot('embed-1280x800');
});

await t.run();
