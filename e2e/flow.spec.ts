// The whole flow with the real engine and the embedded demo model (public/models/demo: not trained, it
// quotes the document): load the model, paste a document, encode it with Star Attention, ask, see the
// answer stream in with its stats, ask a follow-up; the GPL-3 fits the demo's window; Stop keeps true
// stats; then the speedup page runs full vs star and draws its chart.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { expectText, expectVisible, suite } from './support/harness.ts';

const t = suite('flow');

// SwiftShader runs the demo model at some tens of tokens per second: a short document, short answers.
const document = 'The harbour master logged forty-two ships in March and thirty-one in April. '.repeat(8);

async function shortAnswers(page: import('playwright-core').Page) {
  await page.getByLabel('Max tokens').fill('6');
  await page.getByLabel('Max tokens').press('Tab');
}

async function loadDemoModel(page: import('playwright-core').Page) {
  await page.getByTestId('load-model').click();
  await expectVisible(page.getByTestId('model-loaded'), 120_000);
}

t.test('load the demo model, a document, ask, and get a streamed answer with stats', async ({ page, url, screenshot }) => {
  await page.goto(url());
  await shortAnswers(page);
  await loadDemoModel(page);
  await expectText(page.getByTestId('context-window'), /32[,.\s]?768|32K/i);

  await page.getByRole('button', { name: 'Paste text' }).click();
  await page.getByLabel("Paste the document's text").fill(document);
  await page.getByRole('button', { name: 'Use pasted text' }).click();
  await expectVisible(page.getByTestId('token-count'), 60_000);

  await page.getByTestId('encode').click();
  await expectVisible(page.getByTestId('encode-stats'), 120_000);
  await expectText(page.getByTestId('encode-stats'), /star/i);

  await page.getByLabel('Question', { exact: true }).fill('How many ships in March?');
  await page.getByTestId('ask').click();
  await expectVisible(page.locator('[data-testid="message-answer"][data-status="done"]'), 120_000);
  const answer = page.locator('[data-testid="message-answer"][data-status="done"]').first();
  assert.ok((await answer.getByTestId('answer-text').innerText()).length > 0, 'the answer has text');
  await expectText(answer.getByTestId('answer-stats'), /tokens\/s/);
  await screenshot('answered-1280x800');

  await page.getByLabel('Question', { exact: true }).fill('And in April?');
  await page.getByTestId('ask').click();
  await expectVisible(page.locator('[data-testid="message-answer"][data-status="done"]').nth(1), 120_000);
  await page.setViewportSize({ width: 400, height: 800 });
  await screenshot('answered-400x800');
});

t.test('the demo answers by quoting the document, and the GPL-3 fits its window', async ({ page, url, screenshots }) => {
  await page.goto(url());
  await shortAnswers(page);
  await loadDemoModel(page);
  const gpl = await readFile(new URL('./fixtures/gpl-3.0.txt', import.meta.url), 'utf8');
  await page.getByRole('button', { name: 'Paste text' }).click();
  await page.getByLabel("Paste the document's text").fill(gpl);
  await page.getByRole('button', { name: 'Use pasted text' }).click();
  const count = await expectText(page.getByTestId('token-count'), /tokens of a 32K context window/, 60_000);
  const tokens = Number(/^([\d,]+) tokens/.exec(count)![1].replace(/,/g, ''));
  assert.ok(tokens > 10_000 && tokens < 20_000, `GPL-3 (${gpl.length} characters) is ${tokens} tokens`);
  assert.equal(await page.getByTestId('too-long').count(), 0, 'no truncation offered');

  await page.getByRole('button', { name: 'Paste text' }).click();
  await page.getByLabel("Paste the document's text").fill(document);
  await page.getByRole('button', { name: 'Use pasted text' }).click();
  await expectVisible(page.getByTestId('token-count'), 60_000);
  await page.getByLabel('Question', { exact: true }).fill('How many ships in March?');
  await page.getByTestId('ask').click();
  const answer = page.locator('[data-testid="message-answer"][data-status="done"]').first();
  await expectVisible(answer, 180_000);
  const text = (await answer.getByTestId('answer-text').innerText()).trim();
  assert.match(text, /[a-z]{3,} [a-z]{3,}/i, `readable words: ${JSON.stringify(text)}`);
  assert.ok(document.includes(text), `a quote of the document: ${JSON.stringify(text)}`);
  await expectText(page.getByTestId('demo-note'), /not trained: it answers by quoting your document/);
  await screenshots('demo-answer', { at: answer });
});

t.test('Stop: the answer keeps its tokens and a measured tokens/s', async ({ page, url }) => {
  await page.goto(url());
  await page.getByLabel('Max tokens').fill('400');
  await page.getByLabel('Max tokens').press('Tab');
  await loadDemoModel(page);
  await page.getByRole('button', { name: 'Paste text' }).click();
  await page.getByLabel("Paste the document's text").fill(document);
  await page.getByRole('button', { name: 'Use pasted text' }).click();
  await expectVisible(page.getByTestId('token-count'), 60_000);
  await page.getByLabel('Question', { exact: true }).fill('Tell me everything.');
  await page.getByTestId('ask').click();
  await expectText(page.getByTestId('answer-text'), /\w+ \w+ \w+ \w+/, 180_000);
  await page.getByTestId('stop').click();
  const stopped = page.locator('[data-testid="message-answer"][data-status="stopped"]');
  await expectVisible(stopped, 60_000);
  const stats = await expectText(stopped.getByTestId('answer-stats'), /tokens · stopped/);
  const rate = /([\d.]+) tokens\/s/.exec(stats);
  assert.ok(rate && Number(rate[1]) > 0, `a measured rate after Stop: ${stats}`);
});

t.test('the speedup page encodes with full and star attention and draws the chart', async ({ page, url, screenshots }) => {
  await page.goto(url());
  await shortAnswers(page);
  await loadDemoModel(page);
  await page.getByRole('button', { name: 'Paste text' }).click();
  await page.getByLabel("Paste the document's text").fill(document);
  await page.getByRole('button', { name: 'Use pasted text' }).click();
  await expectVisible(page.getByTestId('token-count'), 60_000);
  await page.getByRole('link', { name: 'Speedup demo' }).click();
  await page.getByLabel('Question to answer both ways (optional)').fill('How many ships?');
  await page.getByTestId('run-speedup').click();
  // Done when the run button is back; then the chart and both answers are there.
  await expectVisible(page.getByTestId('run-speedup'), 300_000);
  await expectVisible(page.getByTestId('speedup-chart'));
  await expectVisible(page.getByTestId('speedup-answers'));
  const cards = page.getByTestId('speedup-answers').locator('article');
  assert.equal(await cards.count(), 2, 'full and star answers side by side');
  for (const card of await cards.all()) assert.doesNotMatch(await card.innerText(), /No answer|Waiting/);
  // Each star cell: the measured speedup beside the theoretical FLOPs ratio (1.00× here: the planner
  // keeps a document this short in one block).
  const theory = page.getByTestId('flops-ratio');
  assert.equal(await theory.count(), await page.locator('table.results tbody tr').count(), 'one star cell per length');
  for (const cell of await theory.all()) assert.match(await cell.innerText(), /^theory 1\.00×$/);
  await expectText(page.locator('table.results tbody tr').last(), /\d\.\d\d×.*theory/);
  await expectVisible(page.getByTestId('speedup-ratios-note'));
  // On a wide window the page body scrolls inside the app, so a full-page capture would miss the results.
  await screenshots('speedup-chart', { at: page.getByTestId('speedup-chart') });
  await screenshots('speedup-answers', { at: page.getByTestId('speedup-answers') });
});

t.test('a loaded model is kept for offline use, listed with its size, and can be removed', async ({ page, url, screenshot }) => {
  await page.goto(url());
  await expectText(page.getByTestId('cached-models').locator('summary'), /Downloaded models: none/);
  await loadDemoModel(page);
  await page.getByRole('button', { name: 'Change model' }).click();
  const cached = page.getByTestId('cached-models');
  await expectText(cached.locator('summary'), /Downloaded models: 1, /);
  await cached.locator('summary').click();
  await expectText(cached.getByTestId('cached-model'), /models\/demo\/.*files/);
  await screenshot('cached-models-1280x800');
  await cached.getByRole('button', { name: /Remove .*models\/demo\// }).click();
  await expectText(cached.locator('summary'), /Downloaded models: none/);
});

await t.run();
