// The UI's own behaviour — progress, streaming, stop, copy, errors, device loss, the speedup page, the
// embed — driven by a DEVELOPMENT STAND-IN engine (e2e/harness/dev-stand-in-reader.ts: no model runs).
// These tests do NOT test the engine; its flow (demo model) gets e2e/flow.spec.ts once the engine lands.
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { expectHidden, expectText, expectVisible, suite } from './support/harness.ts';

const t = suite('ui with the development stand-in engine');
const harness = 'e2e/harness/stand-in.html';
const slow = (ms: number) => `globalThis.__standInStepMs = ${ms};`;

const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(' ');

async function loadModel(page: Page) {
  await page.getByTestId('load-model').click();
  await expectVisible(page.getByTestId('model-loaded'));
}

async function paste(page: Page, text: string) {
  await page.getByRole('button', { name: 'Paste text' }).click();
  await page.getByLabel("Paste the document's text").fill(text);
  await page.getByRole('button', { name: 'Use pasted text' }).click();
}

async function ask(page: Page, question: string) {
  await page.getByLabel('Question', { exact: true }).fill(question);
  await page.getByLabel('Question', { exact: true }).press('Enter');
}

async function fault(page: Page, at: 'load' | 'encode' | 'ask', name: string, message: string) {
  await page.evaluate((f) => (globalThis.__standInFaults ??= []).push(f), { at, name, message });
}

t.test(
  'model download shows bytes, speed and time left, then the loaded model',
  async ({ page, url, screenshots }) => {
    await page.goto(url(harness));
    await page.getByTestId('load-model').click();
    const progress = page.getByTestId('model-progress');
    await expectText(progress, /MB of 120 MB · [\d.]+ MB\/s · .* left/);
    assert.ok(Number(await progress.getByRole('progressbar').getAttribute('aria-valuenow')) < 100);
    await expectText(page.getByTestId('ask-blocker'), /^The model is loading; add a document to ask about\.$/);
    await screenshots('stand-in-model-progress', { at: progress });
    await expectVisible(page.getByTestId('model-loaded'));
    await expectText(page.getByTestId('context-window'), /^4K tokens$/);
    await expectText(page.getByTestId('model-loaded'), /demo: not trained/);
  },
  { initScript: slow(250) },
);

t.test('cancelling the download returns to the chooser, and a question that waited goes back to the box', async ({ page, url }) => {
  await page.goto(url(harness));
  await paste(page, words(100));
  await page.getByTestId('load-model').click();
  await expectVisible(page.getByTestId('model-progress'));
  await ask(page, 'Waiting for the model?');
  await expectVisible(page.getByTestId('message-waiting'));
  await page.getByTestId('model-progress').getByRole('button', { name: 'Cancel' }).click();
  await expectText(page.getByTestId('model-panel'), /Model loading cancelled/);
  await expectVisible(page.getByTestId('load-model'));
  await expectHidden(page.getByTestId('message-waiting'));
  assert.equal(await page.getByLabel('Question', { exact: true }).inputValue(), 'Waiting for the model?');
  await expectText(page.getByTestId('ask-blocker'), /^Load a model first\.$/);
}, { initScript: slow(300) });

t.test('token count against the context window; truncate to fit and back', async ({ page, url, screenshot }) => {
  await page.goto(url(harness));
  await loadModel(page);
  await paste(page, words(5000));
  await expectText(page.getByTestId('token-count'), /5,000 tokens of a 4K context window/);
  await expectVisible(page.getByTestId('too-long'));
  assert.equal(await page.getByTestId('encode').isDisabled(), true);
  await screenshot('stand-in-too-long-1280x800');
  // 4096 context − 512 answer tokens − 256 for the question and template = 3328.
  await page.getByRole('button', { name: 'Truncate to the first 3,328 tokens' }).click();
  await expectText(page.getByTestId('truncated'), /Reading the first 3,328 of 5,000 tokens/);
  await expectHidden(page.getByTestId('too-long'));
  await page.getByRole('button', { name: 'Use the whole document' }).click();
  await expectVisible(page.getByTestId('too-long'));
});

t.test('ask: phase 1 then a streamed answer with stats; copy; follow-up question', async ({ page, url, screenshot, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.goto(url(harness));
  await loadModel(page);
  await paste(page, words(1200));
  await expectText(page.getByTestId('token-count'), /1,200 tokens/);
  await ask(page, 'What is this document about?');
  await expectVisible(page.locator('[data-testid="message-answer"][data-status="streaming"]'));
  await expectVisible(page.locator('[data-testid="message-answer"][data-status="done"]'));
  await expectText(page.getByTestId('answer-text'), /^\(stand-in answer, no model ran\) You asked: “What is this document about\?”/);
  await expectText(page.getByTestId('answer-stats'), /Query 42 ms.*tokens\/s.*KV .*B.*end of answer/);
  await expectText(page.getByTestId('encode-stats'), /Read 1,200 tokens in .* star attention · \d+ blocks of \d+ · 1 host · KV/);
  await page.getByTestId('copy').click();
  await expectText(page.getByTestId('copy'), /Copied/);
  assert.match(await page.evaluate(() => navigator.clipboard.readText()), /^\(stand-in answer/);
  await ask(page, 'And a follow-up?');
  await expectText(page.locator('[data-testid="message-answer"]').nth(1), /You asked: “And a follow-up\?”/);
  await expectVisible(page.locator('[data-testid="message-answer"][data-status="done"]').nth(1));
  assert.equal(await page.getByTestId('message-user').count(), 2);
  await screenshot('stand-in-chat-1280x800');
});

t.test('a question sent while the document is read waits for it; a cancelled reading or "Don’t ask" gives it back', async ({ page, url, screenshots }) => {
  await page.goto(url(harness));
  await loadModel(page);
  await paste(page, words(1200));
  await expectText(page.getByTestId('token-count'), /1,200 tokens/);
  // Readings of a few seconds: time to ask meanwhile; then fast again.
  const stepMs = (ms: number) => page.evaluate((v) => (globalThis.__standInStepMs = v), ms);
  await stepMs(500);
  await page.getByTestId('encode').click();
  await expectText(page.getByTestId('ask-waits'), /^Reading the document… a question sent now is asked as soon as it is read\.$/);
  await ask(page, 'What is it about?');
  const waiting = page.getByTestId('message-waiting');
  await expectText(waiting, /What is it about\?.*Asked as soon as the document is read/);
  await expectText(page.getByTestId('ask-blocker'), /^Your question is asked as soon as the document is read\.$/);
  assert.equal(await page.getByTestId('ask').isDisabled(), true, 'one question waits at a time');
  await screenshots('stand-in-question-waiting', { at: page.getByTestId('chat-panel') });
  await stepMs(20);
  await expectVisible(page.locator('[data-testid="message-answer"][data-status="done"]'), 30_000);
  await expectHidden(waiting);
  await expectText(page.getByTestId('message-user'), /What is it about\?/);
  await expectText(page.getByTestId('answer-text'), /You asked: “What is it about\?”/);
  await expectVisible(page.getByTestId('encode-stats'));

  // Another document, its reading cancelled: the waiting question is back in the box, not asked.
  await paste(page, words(900));
  await stepMs(500);
  await page.getByTestId('encode').click();
  await ask(page, 'About the second one?');
  await expectVisible(waiting);
  await page.getByTestId('encode-progress').getByRole('button', { name: 'Cancel' }).click();
  await expectHidden(waiting);
  const box = page.getByLabel('Question', { exact: true });
  assert.equal(await box.inputValue(), 'About the second one?');
  assert.equal(await page.getByTestId('message-answer').count(), 0);

  // Read again, and "Don’t ask": back in the box, before what was typed since.
  await page.getByTestId('encode').click();
  await ask(page, 'About the second one?');
  await box.fill('and more');
  await page.getByTestId('unwait').click();
  await expectHidden(waiting);
  assert.equal(await box.inputValue(), 'About the second one?\nand more');
  await stepMs(20);
  await expectVisible(page.getByTestId('encode-stats'), 30_000);
  assert.equal(await page.getByTestId('message-answer').count(), 0, 'nothing was asked');
});

t.test(
  'a question sent while the model loads waits for the model and the reading, then is asked',
  async ({ page, url }) => {
    await page.goto(url(harness));
    await paste(page, words(600));
    await page.getByTestId('load-model').click();
    await expectVisible(page.getByTestId('model-progress'));
    await expectText(page.getByTestId('ask-waits'), /^The model is loading: a question sent now is asked once it is loaded and the document read\.$/);
    await ask(page, 'Asked early?');
    await expectText(page.getByTestId('message-waiting'), /Asked early\?.*Asked as soon as the document is read, once the model is loaded\./);
    await page.evaluate(() => (globalThis.__standInStepMs = 20));
    await expectVisible(page.locator('[data-testid="message-answer"][data-status="done"]'), 30_000);
    await expectText(page.getByTestId('answer-text'), /You asked: “Asked early\?”/);
    await expectVisible(page.getByTestId('encode-stats'));
    await expectHidden(page.getByTestId('message-waiting'));
  },
  { initScript: slow(250) },
);

t.test('replacing the document while a question waits for the model gives the question back', async ({ page, url }) => {
  await page.goto(url(harness));
  await paste(page, words(100));
  await page.getByTestId('load-model').click();
  await expectVisible(page.getByTestId('model-progress'));
  await ask(page, 'About the first text?');
  await expectVisible(page.getByTestId('message-waiting'));
  await paste(page, words(50));
  await expectHidden(page.getByTestId('message-waiting'));
  assert.equal(await page.getByLabel('Question', { exact: true }).inputValue(), 'About the first text?');
  await expectVisible(page.getByTestId('model-loaded'), 30_000);
  assert.equal(await page.getByTestId('message-user').count(), 0, 'nothing was asked');
}, { initScript: slow(150) });

t.test('stop ends the answer and keeps what was written', async ({ page, url }) => {
  await page.goto(url(harness));
  await loadModel(page);
  await page.evaluate(() => (globalThis.__standInStepMs = 250));
  await paste(page, words(100));
  await ask(page, 'Tell me everything.');
  await expectText(page.getByTestId('answer-text'), /stand-in answer/);
  await page.getByTestId('stop').click();
  await expectVisible(page.locator('[data-testid="message-answer"][data-status="stopped"]'));
  const text = await page.getByTestId('answer-text').textContent();
  assert.ok(text && text.length > 0 && !text.includes('try'), `partial answer kept: ${text}`);
  await expectVisible(page.getByTestId('ask'));
}, { initScript: slow(20) });

t.test('a network error while loading keeps the document; Retry loads', async ({ page, url }) => {
  await page.goto(url(harness));
  await paste(page, words(50));
  await fault(page, 'load', 'TypeError', 'Failed to fetch');
  await page.getByTestId('load-model').click();
  const error = page.locator('[data-testid="error"][data-kind="network"]');
  await expectText(error, /Network error.*Failed to fetch.*Check your connection and retry/);
  await expectText(page.getByTestId('document-name'), /Pasted text/);
  await error.getByRole('button', { name: 'Retry' }).click();
  await expectVisible(page.getByTestId('model-loaded'));
  await expectText(page.getByTestId('token-count'), /50 tokens/);
});

t.test('an unsupported model and an out-of-memory model say what to do', async ({ page, url }) => {
  await page.goto(url(harness));
  await fault(page, 'load', 'ModelConfigError', 'config.json: model_type "gpt2" is not supported (supported: llama, qwen2, qwen3)');
  await page.getByTestId('load-model').click();
  await expectText(page.locator('[data-testid="error"][data-kind="unsupported"]'), /Unsupported model.*gpt2.*Pick one of the recommended models/);
  await fault(page, 'load', 'ModelWeightsError', 'Out of GPU memory allocating layer 12 (268435456 bytes) after 3221225472 bytes of weights');
  await page.getByTestId('load-model').click();
  await expectText(page.locator('[data-testid="error"][data-kind="too-big"]'), /The model is too big for this GPU.*268435456 bytes.*smaller model/);
});

t.test('device lost: the model reloads by itself; document and chat stay; a second loss in a row waits for the user', async ({ page, url, screenshot, screenshots }) => {
  await page.goto(url(harness));
  await loadModel(page);
  await paste(page, words(300));
  await ask(page, 'First question');
  await expectVisible(page.locator('[data-testid="message-answer"][data-status="done"]'));
  // Slow loads: the reloading state stays long enough to be seen.
  await page.evaluate(() => (globalThis.__standInStepMs = 150));
  await fault(page, 'ask', 'HostError', 'Host 0: GPU device lost (unknown): the GPU process crashed');
  await ask(page, 'Second question');
  const banner = page.getByTestId('device-lost');
  await expectText(banner, /The GPU stopped \(device lost\)\. Reloading the model.*document and the chat stay.*GPU process crashed/);
  await expectText(page.getByTestId('ask-blocker'), /model is reloading/);
  await screenshots('stand-in-device-lost-reloading', { at: banner });
  await expectText(banner, /The model was reloaded after the GPU stopped.*ask again/, 30_000);
  assert.equal(await page.getByTestId('message-user').count(), 2);
  await expectText(page.getByTestId('document-name'), /Pasted text/);
  await expectVisible(page.getByTestId('encode-stats'));
  await screenshot('stand-in-device-lost-reloaded-1280x800');

  // Lost again before any answer went through: no reload loop, the user decides.
  await page.evaluate(() => (globalThis.__standInStepMs = 1));
  await fault(page, 'ask', 'HostError', 'Host 0: GPU device lost (unknown): the GPU process crashed again');
  await ask(page, 'Third question');
  await expectText(banner, /The GPU stopped \(device lost\).*crashed again/);
  await expectText(page.getByTestId('ask-blocker'), /reload the model/);
  await screenshots('stand-in-device-lost-stopped', { at: banner });
  await banner.getByRole('button', { name: 'Reload model' }).click();
  await expectText(banner, /The model was reloaded/, 30_000);
  await ask(page, 'Fourth question');
  await expectText(page.locator('[data-testid="message-answer"]').last(), /Fourth question/);
  await expectVisible(page.locator('[data-testid="message-answer"][data-status="done"]').last());
  await expectHidden(banner);
  assert.equal(await page.getByTestId('message-user').count(), 4);
});

t.test('changed engine settings offer a reload with them', async ({ page, url }) => {
  await page.goto(url(harness));
  await loadModel(page);
  await paste(page, words(200));
  const settings = page.getByTestId('settings-panel');
  await settings.getByLabel('Full', { exact: true }).check();
  await page.getByTestId('apply-engine').click();
  await expectText(page.getByTestId('encode-stats'), /full attention/);
  await expectHidden(page.getByTestId('apply-engine'));
});

t.test('speedup page: table, chart and the two answers side by side', async ({ page, url, screenshots }) => {
  await page.goto(url(harness));
  await loadModel(page);
  await paste(page, words(3200));
  await page.getByRole('link', { name: 'Speedup demo' }).click();
  const setup = page.getByTestId('speedup-page');
  await setup.getByLabel('2 hosts').check();
  await setup.getByLabel('Question to answer both ways (optional)').fill('What is it about?');
  await page.getByTestId('run-speedup').click();
  await expectVisible(page.getByTestId('speedup-answers'));
  await expectHidden(page.getByTestId('speedup-progress'), 30_000);
  const rows = page.locator('table.results tbody tr');
  assert.deepEqual(await rows.locator('th').allTextContents(), ['512', '1,024', '2,048', '3,200']);
  assert.equal(await page.locator('table.results tbody td.pending').count(), 0, 'every cell measured');
  await expectText(rows.last(), /×/);
  assert.equal(await page.locator('[data-testid="speedup-chart"] polyline').count(), 3, 'full, star, star × 2');
  await expectText(page.getByTestId('speedup-answers'), /Full.*You asked.*Star.*You asked/);
  // On a wide window the page body scrolls inside the app, so a full-page capture would miss the results.
  await screenshots('stand-in-speedup-chart', { at: page.getByTestId('speedup-chart') });
  await screenshots('stand-in-speedup-answers', { at: page.getByTestId('speedup-answers') });
});

t.test(
  'narrow window with a loaded model and a chat',
  async ({ page, url, screenshot }) => {
    await page.goto(url(harness));
    await loadModel(page);
    await paste(page, words(800));
    await ask(page, 'Summarise the document in one line, please.');
    await expectVisible(page.locator('[data-testid="message-answer"][data-status="done"]'));
    await screenshot('stand-in-chat-400x800-full', { fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (page is ${overflow}px too wide)`);
  },
  { viewport: { width: 400, height: 800 } },
);

t.test('embedded <StarReader>: loads, reads the document by itself, answers', async ({ page, url, screenshot }) => {
  await page.goto(url('e2e/embed.html?engine=stand-in'));
  await expectText(page.getByTestId('status'), /is ready/);
  await expectText(page.getByTestId('status'), /tokens/);
  // The component may still be reading the document: the question then waits for it.
  await ask(page, 'What is Star Reader?');
  // A fresh checkout's first load of the embed page compiles its modules: more than the default wait.
  await expectVisible(page.locator('[data-testid="message-answer"][data-status="done"]'), 60_000);
  await expectText(page.getByTestId('answer-stats'), /Query/);
  await screenshot('stand-in-embed-1280x800');
});

await t.run();
