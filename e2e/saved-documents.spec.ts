// Saved documents with the real engine and the demo model: read a document, ask, save it; reload the
// page, load the model, reopen it from the list (no phase 1: the hosts read their shards from OPFS),
// ask the same question and get the same greedy answer; with another block size it is refused, with
// the reason; then delete it.
import assert from 'node:assert/strict';
import { expectText, expectVisible, suite } from './support/harness.ts';
import { askAndWait, harbourReport, loadDemoModel, pasteDocument, setMaxTokens } from './support/app.ts';

const t = suite('saved documents');

t.test('save a read document, reload the page, reopen it and get the same answer; another block size is refused; delete it', async ({ page, url, screenshot }) => {
  await page.goto(url());
  await setMaxTokens(page, 6);
  await loadDemoModel(page);
  const panel = page.getByTestId('saved-documents');
  await expectText(panel, /None yet/);
  await pasteDocument(page, harbourReport);
  await expectVisible(page.getByTestId('token-count'), 60_000);
  const before = await (await askAndWait(page, 'How many ships in March?')).getByTestId('answer-text').innerText();

  await panel.getByTestId('save-document').click();
  await expectText(panel.getByTestId('saved-message'), /Saved “Pasted text”/, 120_000);
  await expectText(panel.getByTestId('saved-document'), /Pasted text/);

  await page.reload();
  await loadDemoModel(page);
  const entry = page.getByTestId('saved-document');
  await expectVisible(entry, 60_000);
  assert.equal(await entry.count(), 1, 'one saved document after the reload');
  await expectText(entry, /demo.*qwen2, f32.*\d+ tokens · [\d.]+ (KB|MB)/);
  await expectText(panel.getByTestId('saved-usage'), /used · this site: .* quota/);
  await entry.getByRole('button', { name: 'Reopen Pasted text' }).click();
  await expectText(panel.getByTestId('saved-message'), /Reopened “Pasted text”/, 120_000);
  await screenshot('saved-documents-reopened');
  const after = await (await askAndWait(page, 'How many ships in March?')).getByTestId('answer-text').innerText();
  assert.equal(after, before, 'the same greedy answer after reopening as before closing');

  // Another block size: the engine reloads with it, and the saved document is refused with the reason.
  await page.getByTestId('settings-panel').getByRole('radio', { name: 'Fixed' }).check();
  const block = page.getByTestId('settings-panel').getByLabel('Block size in tokens');
  await block.fill('128');
  await block.press('Tab');
  await page.getByTestId('apply-engine').click();
  await expectVisible(page.getByTestId('model-loaded'), 120_000);
  await expectText(entry, /read with blockSize \d+, the reader asks for 128/, 60_000);
  assert.equal(await entry.getByRole('button', { name: 'Reopen Pasted text' }).isDisabled(), true, 'Reopen is off for a refused document');

  await entry.getByRole('button', { name: 'Delete Pasted text' }).click();
  await expectText(panel, /None yet/, 30_000);
});

await t.run();
