// Steps of the reader app that specs share: the embedded demo model, a pasted document, a question.
import type { Page } from 'playwright-core';
import { expectHidden, expectVisible } from './harness.ts';

/** SwiftShader runs the demo model at a few tokens per second: answers a few tokens long keep tests quick. */
export async function setMaxTokens(page: Page, tokens: number): Promise<void> {
  const field = page.getByTestId('settings-panel').getByLabel('Max tokens', { exact: true });
  await field.fill(String(tokens));
  await field.press('Tab');
}

export async function loadDemoModel(page: Page): Promise<void> {
  await page.getByTestId('load-model').click();
  await expectVisible(page.getByTestId('model-loaded'), 120_000);
}

export async function pasteDocument(page: Page, text: string): Promise<void> {
  await page.getByRole('button', { name: 'Paste text' }).click();
  await page.getByLabel("Paste the document's text").fill(text);
  await page.getByRole('button', { name: 'Use pasted text' }).click();
}

/** Asks and waits until the answer is done; returns the answer's locator. */
export async function askAndWait(page: Page, question: string) {
  const before = await page.locator('[data-testid="message-answer"]').count();
  // Enter does nothing while the box is blocked (a model loading, an answer's own reading of the document).
  await expectHidden(page.getByTestId('ask-blocker'), 180_000);
  await page.getByLabel('Question', { exact: true }).fill(question);
  await page.getByLabel('Question', { exact: true }).press('Enter');
  const answer = page.locator('[data-testid="message-answer"]').nth(before);
  await expectVisible(answer.and(page.locator('[data-status="done"]')), 180_000);
  return answer;
}

/** A short document about ships, a few hundred tokens for the demo tokenizer. */
export const harbourReport = 'The harbour master logged forty-two ships in March and thirty-one in April. '.repeat(8);
