// Chat conventions people know from other chat UIs, driven by the DEVELOPMENT STAND-IN engine (no
// model runs; e2e/harness/dev-stand-in-reader.ts): Markdown answers (and a hostile one that stays
// text), copying a code block, Regenerate and Edit of the last question, Clear chat, a new document
// starting a new chat, true stats after Stop, saved conversations, and dark mode following the system.
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { expectHidden, expectText, expectVisible, suite } from './support/harness.ts';

const t = suite('chat conventions (development stand-in engine)');
const harness = 'e2e/harness/stand-in.html';
const fast = 'globalThis.__standInStepMs = 15;';

const markdownAnswer = [
  '## What the document says',
  '',
  'It has **three** parts:',
  '',
  '1. the *preamble*',
  '2. the `terms`',
  '3. how to [apply them](https://www.gnu.org/licenses/)',
  '',
  '| part | words |',
  '|:-----|------:|',
  '| preamble | 400 |',
  '| terms | 5,000 |',
  '',
  '```sh',
  'cp COPYING src/',
  '```',
  '',
  '> Everyone is permitted to copy it.',
].join('\n');

const hostileAnswer = [
  '<img src=x onerror="window.__pwned = 1">',
  '',
  '<script>window.__pwned = 2</script>',
  '',
  '[click me](javascript:window.__pwned=3)',
  '',
  '| <b onmouseover="window.__pwned=4">cell</b> |',
  '|---|',
  '| <iframe src="https://example.org"></iframe> |',
].join('\n');

async function ready(page: Page, url: (p?: string) => string, document = 'one two three four five six seven eight nine ten') {
  await page.goto(url(harness));
  await page.getByTestId('load-model').click();
  await expectVisible(page.getByTestId('model-loaded'));
  await paste(page, document, 'Use pasted text');
}

async function paste(page: Page, text: string, button: string) {
  await page.getByRole('button', { name: 'Paste text' }).click();
  await page.getByLabel("Paste the document's text").fill(text);
  await page.getByRole('button', { name: button }).click();
}

async function ask(page: Page, question: string) {
  const before = await page.getByTestId('message-answer').count();
  await expectHidden(page.getByTestId('ask-blocker'));
  await page.getByLabel('Question', { exact: true }).fill(question);
  await page.getByLabel('Question', { exact: true }).press('Enter');
  await expectVisible(page.getByTestId('message-answer').nth(before).and(page.locator('[data-status="done"]')));
  await expectVisible(page.getByTestId('ask'));
}

t.test(
  'an answer in Markdown: heading, list, table, code block with a copy button, quote, link',
  async ({ page, url, context, screenshots }) => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await ready(page, url);
    await page.evaluate((a) => (globalThis.__standInAnswer = a), markdownAnswer);
    await ask(page, 'What are its parts?');
    const answer = page.getByTestId('answer-text');
    await expectText(answer.getByRole('heading', { name: 'What the document says' }), /What the document says/);
    assert.deepEqual(await answer.locator('ol > li').allInnerTexts(), ['the preamble', 'the terms', 'how to apply them']);
    assert.equal(await answer.locator('strong').innerText(), 'three');
    assert.equal(await answer.locator('li code').innerText(), 'terms');
    assert.deepEqual(await answer.locator('table th').allInnerTexts(), ['part', 'words']);
    assert.equal(await answer.locator('table tbody tr').count(), 2);
    const link = answer.getByRole('link', { name: 'apply them' });
    assert.equal(await link.getAttribute('href'), 'https://www.gnu.org/licenses/');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    await expectText(answer.locator('blockquote'), /Everyone is permitted/);
    await expectText(answer.getByTestId('code-block'), /sh\s*Copy code\s*cp COPYING src\//);
    await answer.getByTestId('copy-code').click();
    await expectText(answer.getByTestId('copy-code'), /Copied/);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'cp COPYING src/');
    // The whole answer's Copy gives the Markdown source.
    await page.getByTestId('copy').click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), markdownAnswer);
    await screenshots('chat-markdown', { at: answer });
  },
  { initScript: fast },
);

t.test(
  'a hostile answer (HTML, handlers, javascript: links) shows as text and runs nothing',
  async ({ page, url, screenshots }) => {
    await ready(page, url);
    await page.evaluate((a) => (globalThis.__standInAnswer = a), hostileAnswer);
    await ask(page, 'Anything?');
    const answer = page.getByTestId('answer-text');
    await expectText(answer, /<img src=x onerror="window.__pwned = 1">/);
    await expectText(answer, /<script>window.__pwned = 2<\/script>/);
    await expectText(answer, /\[click me\]\(javascript:window.__pwned=3\)/);
    assert.equal(await answer.locator('img, script, iframe, b').count(), 0, 'no element from the answer');
    assert.equal(await answer.locator('a').count(), 0, 'no link to javascript:');
    await answer.locator('td').hover();
    assert.equal(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned), undefined);
    await screenshots('chat-hostile-answer', { at: answer });
  },
  { initScript: fast },
);

t.test(
  'Regenerate and Edit replace the last turn; Clear chat empties it; each starts the reader’s conversation over',
  async ({ page, url, screenshots }) => {
    await ready(page, url);
    await ask(page, 'First question?');
    await ask(page, 'Second question?');
    const answers = page.getByTestId('message-answer');
    // Only the last answer offers Regenerate, only the last question Edit.
    assert.equal(await page.getByTestId('regenerate').count(), 1);
    assert.equal(await page.getByTestId('edit').count(), 1);
    await page.evaluate(() => (globalThis.__standInAnswer = 'A regenerated answer.'));
    await page.getByTestId('regenerate').click();
    await expectText(answers.nth(1), /A regenerated answer\./);
    await expectVisible(page.locator('[data-testid="message-answer"][data-status="done"]').nth(1));
    assert.equal(await answers.count(), 2, 'the last answer replaced, not added');
    await expectText(page.getByTestId('chat-notice'), /model now sees the document and this question, not the earlier turns/);
    assert.equal(await page.evaluate(() => globalThis.__standInResets), 1);

    await page.getByTestId('edit').click();
    await page.getByTestId('edit-question').fill('Second question, edited?');
    await screenshots('chat-edit-question', { at: page.getByTestId('edit-question') });
    await page.evaluate(() => (globalThis.__standInAnswer = undefined));
    await page.getByTestId('send-edit').click();
    await expectText(answers.nth(1), /You asked: “Second question, edited\?”/);
    await expectVisible(page.locator('[data-testid="message-answer"][data-status="done"]').nth(1));
    assert.deepEqual(await page.getByTestId('message-user').allInnerTexts().then((q) => q.map((s) => s.replace(/\s*Edit$/, ''))), [
      'First question?',
      'Second question, edited?',
    ]);
    assert.equal(await page.evaluate(() => globalThis.__standInResets), 2);

    await page.getByTestId('clear-chat').click();
    assert.equal(await page.getByTestId('message-user').count(), 0);
    assert.equal(await page.evaluate(() => globalThis.__standInResets), 3);
    await ask(page, 'After clearing?');
    assert.equal(await answers.count(), 1);
  },
  { initScript: fast },
);

t.test(
  'replacing the document starts a new chat',
  async ({ page, url }) => {
    await ready(page, url);
    await ask(page, 'About the first document?');
    assert.equal(await page.getByTestId('message-answer').count(), 1);
    await page.getByRole('button', { name: 'Paste text' }).click();
    await page.getByLabel("Paste the document's text").fill('a completely different text about lighthouses');
    await page.getByRole('button', { name: 'Use pasted text' }).click();
    await expectText(page.getByTestId('document-meta'), /PASTED · 45 characters/);
    assert.equal(await page.getByTestId('message-answer').count(), 0, 'the old conversation is gone');
    assert.equal(await page.getByTestId('message-user').count(), 0);
    await ask(page, 'About the second?');
    await expectText(page.getByTestId('answer-text'), /The document has 6 tokens/);
  },
  { initScript: fast },
);

t.test(
  'after Stop the answer keeps its stats: tokens and a measured tokens/s, never 0.0',
  async ({ page, url, screenshots }) => {
    await ready(page, url);
    await page.evaluate(() => (globalThis.__standInStepMs = 120));
    await page.getByLabel('Question', { exact: true }).fill('Tell me everything.');
    await page.getByLabel('Question', { exact: true }).press('Enter');
    await expectText(page.getByTestId('answer-text'), /You asked/);
    await page.getByTestId('stop').click();
    const stopped = page.locator('[data-testid="message-answer"][data-status="stopped"]');
    await expectVisible(stopped);
    const stats = await expectText(stopped.getByTestId('answer-stats'), /tokens\/s/);
    const [, rate] = /([\d.]+) tokens\/s/.exec(stats)!;
    assert.ok(Number(rate) > 0, `a stopped answer's rate is measured: ${stats}`);
    assert.match(stats, /\d+ tokens · stopped/);
    await screenshots('chat-stopped-stats', { at: stopped });
  },
  { initScript: fast },
);

t.test(
  'conversations are kept per document in this browser, listed, readable after a reload, and deletable',
  async ({ page, url, screenshots }) => {
    await ready(page, url);
    await ask(page, 'What is the first word?');
    await ask(page, 'And the last?');
    const saved = page.getByTestId('saved-conversations');
    await expectText(saved.locator('summary'), /Saved conversations: 1/);
    // A new document: the next question starts a second conversation.
    await paste(page, 'a different document altogether', 'Use pasted text');
    await ask(page, 'Is this another one?');
    await expectText(saved.locator('summary'), /Saved conversations: 2/);

    await page.reload();
    await saved.locator('summary').click();
    const entries = saved.getByTestId('saved-conversation');
    assert.equal(await entries.count(), 2);
    await expectText(entries.first(), /Pasted text.*1 question/);
    await expectText(entries.nth(1), /Pasted text.*2 questions/);
    await entries.nth(1).getByRole('button', { name: 'Read' }).click();
    const messages = entries.nth(1).getByRole('list', { name: /Conversation about/ });
    await expectText(messages, /What is the first word\?.*stand-in answer.*And the last\?/);
    await screenshots('chat-saved-conversations', { at: saved });
    await entries.nth(1).getByRole('button', { name: /Delete the conversation/ }).click();
    await expectText(saved.locator('summary'), /Saved conversations: 1/);
  },
  { initScript: fast },
);

t.test('a binary file renamed .txt and an empty file are refused, and the chat and document stay', async ({ page, url, screenshots }) => {
  await ready(page, url);
  await ask(page, 'Kept?');
  const input = page.getByLabel('Document file', { exact: true });
  await input.setInputFiles({ name: 'photo.txt', mimeType: 'text/plain', buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 0x49, 0x48]) });
  const error = page.getByTestId('document-panel').getByTestId('error');
  await expectText(error, /binary/i);
  await screenshots('binary-file-refused', { at: error });
  await input.setInputFiles({ name: 'empty.md', mimeType: 'text/markdown', buffer: Buffer.from(' \n\n ') });
  await expectText(error, /no text/i);
  await expectText(page.getByTestId('document-name'), /Pasted text/);
  assert.equal(await page.getByTestId('message-answer').count(), 1, 'the chat about the document stays');
}, { initScript: fast });

t.test('before a download: the selected model’s size, GPU memory for its weights and download state', async ({ page, url, screenshots }) => {
  await page.goto(url(harness));
  await page.getByRole('radio', { name: /^Qwen2\.5-0\.5B-Instruct/ }).check();
  const facts = page.getByTestId('selected-model-facts');
  await expectText(facts, /Download ≈988 MB · GPU memory ≈1\.98 GB for the weights \(f32\), plus the document’s KV cache \(f16: 2 bytes a key or value element\)\. Not downloaded yet\./);
  await screenshots('model-facts', { at: facts });
});

t.test(
  'dark mode follows the system',
  async ({ page, url, screenshots }) => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await ready(page, url);
    await page.evaluate((a) => (globalThis.__standInAnswer = a), markdownAnswer);
    await ask(page, 'What are its parts?');
    const background = await page.evaluate(() => getComputedStyle(document.querySelector('.sr-root')!).getPropertyValue('--sr-surface').trim());
    assert.equal(background, '#1a1e27');
    await screenshots('chat-dark', { at: page.getByTestId('answer-text') });
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await page.evaluate(() => getComputedStyle(document.querySelector('.sr-root')!).getPropertyValue('--sr-surface').trim());
    assert.equal(light, '#ffffff');
  },
  { initScript: fast },
);

await t.run();
