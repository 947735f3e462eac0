// Error paths a person can provoke, through the real engine (no stand-in): a document longer than the
// model's context window, and a model folder of an architecture Star Reader does not run.
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectText, expectVisible, suite } from './support/harness.ts';

const t = suite('engine errors');
const demoDir = fileURLToPath(new URL('../public/models/demo/', import.meta.url));

t.test('a document longer than the context window is flagged with the numbers', async ({ page, url, screenshot }) => {
  await page.goto(url());
  await page.getByTestId('load-model').click();
  await expectVisible(page.getByTestId('model-loaded'), 120_000);
  await page.getByRole('button', { name: 'Paste text' }).click();
  // The demo tokenizer is one token per byte and its window is 32,768 tokens.
  await page.getByLabel("Paste the document's text").fill('lighthouse '.repeat(3500));
  await page.getByRole('button', { name: 'Use pasted text' }).click();
  await expectText(page.getByTestId('too-long'), /38[,.\s]?500|32[,.\s]?768|32K/i, 60_000);
  await screenshot('too-long-1280x800');
});

t.test('a model folder of an unsupported architecture says which ones are supported', async ({ page, url, screenshot }) => {
  const folder = await mkdtemp(join(tmpdir(), 'gpt2-model-'));
  await cp(demoDir, folder, { recursive: true });
  await writeFile(join(folder, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_embd: 64, n_layer: 2, n_head: 4, vocab_size: 320 }));
  await page.goto(url());
  await page.getByLabel('Model folder', { exact: true }).setInputFiles(folder);
  await expectVisible(page.getByTestId('folder-summary'));
  await page.getByTestId('load-model').click();
  const error = page.locator('[data-testid="error"][data-kind="unsupported"]');
  await expectText(error, /gpt2/, 60_000);
  await expectText(error, /llama.*mistral.*qwen2.*qwen3/);
  await screenshot('unsupported-model-1280x800');
});

await t.run();
