// Citations in the app with the real engine and the embedded demo model (its weights are not trained:
// this checks the plumbing and the offsets, not which passage wins): an answer lists its sources as
// chips, a chip highlights its passage in the document view and scrolls it into view, the heat strip
// has one cell per span of the document and works from the keyboard.
import assert from 'node:assert/strict';
import { expectVisible, suite } from './support/harness.ts';

const t = suite('citations');

// Three spans of 256 tokens at least, short enough for SwiftShader.
const document = Array.from({ length: 48 }, (_, i) => `Ship ${i + 1} entered the harbour on day ${i + 3} with ${i * 7} crates of tea.`).join(' ');

t.test('an answer cites passages: chips highlight them, the heat strip covers the document', async ({ page, url, screenshot }) => {
  await page.goto(url());
  await page.getByLabel('Max tokens').fill('4');
  await page.getByLabel('Max tokens').press('Tab');
  await page.getByTestId('load-model').click();
  await expectVisible(page.getByTestId('model-loaded'), 120_000);
  await page.getByRole('button', { name: 'Paste text' }).click();
  await page.getByLabel("Paste the document's text").fill(document);
  await page.getByRole('button', { name: 'Use pasted text' }).click();
  const count = await page.getByTestId('token-count').innerText({ timeout: 60_000 });
  const tokens = Number(/([\d,]+) tokens/.exec(count)![1].replace(/,/g, ''));

  await page.getByLabel('Question', { exact: true }).fill('Which ship had the most crates?');
  await page.getByTestId('ask').click();
  const answer = page.locator('[data-testid="message-answer"][data-status="done"]').first();
  await expectVisible(answer, 240_000);

  // One heat cell per 256-token span of the document.
  const cells = page.getByTestId('heat-cell');
  assert.equal(await cells.count(), Math.ceil(tokens / 256), `${tokens} tokens`);
  const chips = answer.getByTestId('source-chip');
  assert.equal(await chips.count(), 3, 'three sources');

  // A chip shows exactly its passage, in view.
  const chip = chips.nth(1);
  const start = Number(await chip.getAttribute('data-start'));
  const end = Number(await chip.getAttribute('data-end'));
  assert.ok(end > start, `passage ${start}–${end}`);
  await chip.focus();
  await page.keyboard.press('Enter');
  assert.equal(await chip.getAttribute('aria-pressed'), 'true');
  const passage = page.getByTestId('cited-passage');
  await expectVisible(passage);
  assert.equal(await passage.innerText(), document.slice(start, end));
  await page.waitForTimeout(600); // the smooth scroll
  const box = (await page.getByTestId('cited-text').boundingBox())!;
  const marked = (await passage.boundingBox())!;
  assert.ok(marked.y < box.y + box.height && marked.y + marked.height > box.y, 'the passage is scrolled into view');
  await screenshot('citations-1280x800');
  await answer.scrollIntoViewIfNeeded();
  await screenshot('citations-chips-1280x800');

  // The heat strip is one tab stop; End goes to the last span, Enter shows it: the document's end.
  await cells.first().focus();
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  const last = await page.getByTestId('cited-passage').innerText();
  assert.ok(last.length > 0 && document.endsWith(last), `the last span ends the document: ${JSON.stringify(last.slice(-40))}`);
  assert.equal(await chip.getAttribute('aria-pressed'), 'false');
});

t.test('the embeddable component lists sources and shows the cited passage too', async ({ page, url }) => {
  await page.goto(url('e2e/embed.html'));
  await expectVisible(page.locator('[data-testid="star-reader"][data-phase="ready"]'), 180_000);
  const text = await page.evaluate(() => new URLSearchParams(location.search).get('document'));
  assert.equal(text, null, 'the page\'s own document');
  await page.getByLabel('Question', { exact: true }).fill('What does Star Attention do?');
  await page.getByTestId('ask').click();
  const answer = page.locator('[data-testid="message-answer"][data-status="done"]').first();
  await expectVisible(answer, 240_000);
  const chip = answer.getByTestId('source-chip').first();
  const start = Number(await chip.getAttribute('data-start'));
  const end = Number(await chip.getAttribute('data-end'));
  await chip.click();
  const passage = await page.getByTestId('cited-passage').innerText();
  const whole = await page.getByTestId('cited-text').innerText();
  assert.equal(passage, whole.slice(start, end));
  assert.ok(whole.startsWith('Star Reader reads long documents'), 'the document view shows the component\'s document');
});

await t.run();
