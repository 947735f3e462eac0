// Documents through the real app: a PDF (made by Chromium's own PDF printer, so it has embedded
// fonts and compressed streams like PDFs people have) picked and dropped, its text extracted by pdf.js
// in a Worker served by the local server, then counted by the demo model's tokenizer.
import assert from 'node:assert/strict';
import type { BrowserContext } from 'playwright-core';
import { loadDemoModel } from './support/app.ts';
import { baseUrl, dropFiles, expectText, expectVisible, suite } from './support/harness.ts';

const t = suite('documents');

const pageOne = 'Harbour report. The harbour master logged forty-two ships in March.';
const pageTwo = 'Page two. Thirty-one ships came in April, and a storm closed the port for three days.';

async function printedPdf(context: BrowserContext): Promise<Buffer> {
  const printer = await context.newPage();
  await printer.setContent(
    `<html><body style="font: 14px sans-serif"><p>${pageOne}</p><p style="break-before: page">${pageTwo}</p></body></html>`,
  );
  const pdf = await printer.pdf({ format: 'A5' });
  await printer.close();
  return pdf;
}

t.test('a PDF, picked or dropped: its pages become the document, counted in tokens', async ({ page, context, url, screenshots }) => {
  const pdf = await printedPdf(context);
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(url());

  await page.getByTestId('document-file').setInputFiles({ name: 'harbour-report.pdf', mimeType: 'application/pdf', buffer: pdf });
  await expectText(page.getByTestId('document-name'), /^harbour-report\.pdf$/, 60_000);
  await expectText(page.getByTestId('document-meta'), /^PDF · 2 pages · \d+ characters$/);
  const preview = page.getByTestId('document-preview');
  await preview.locator('summary').click();
  const text = (await preview.getByLabel('Text of harbour-report.pdf').innerText()).replace(/\s+/g, ' ');
  assert.ok(text.includes('forty-two ships in March') && text.includes('Thirty-one ships came in April'), `extracted: ${text}`);
  assert.ok(text.indexOf('Harbour report') < text.indexOf('Page two'), 'pages in order');

  // pdf.js parses in its own Worker, whose script comes from this server like everything else.
  assert.ok(requests.some((r) => /pdf\.worker/.test(r)), `the pdf.js worker was loaded (requests: ${requests.length})`);
  const elsewhere = requests.filter((r) => !r.startsWith(baseUrl) && !r.startsWith('data:') && !r.startsWith('blob:'));
  assert.deepEqual(elsewhere, [], 'nothing comes from the network');

  await loadDemoModel(page);
  await expectText(page.getByTestId('token-count'), /^\d[\d,]* tokens of a 32K context window/, 60_000);
  await screenshots('pdf-loaded', { at: page.getByTestId('document-panel') });

  // Dropped instead of picked: the same document replaces the first.
  await page.getByRole('button', { name: 'Remove harbour-report.pdf' }).click();
  await dropFiles(page, '[data-testid="document-drop"]', [{ name: 'dropped.pdf', type: 'application/pdf', bytes: pdf }]);
  await expectText(page.getByTestId('document-name'), /^dropped\.pdf$/, 60_000);
  await expectText(page.getByTestId('document-meta'), /^PDF · 2 pages/);
  await expectVisible(page.getByTestId('token-count'), 60_000);
});

t.test('a damaged PDF says so and keeps the document that was there', async ({ page, url, screenshots }) => {
  await page.goto(url());
  await dropFiles(page, '[data-testid="document-drop"]', [{ name: 'notes.txt', type: 'text/plain', text: 'Notes to keep.' }]);
  await expectText(page.getByTestId('document-name'), /^notes\.txt$/);
  await dropFiles(page, '[data-testid="document-drop"]', [{ name: 'broken.pdf', type: 'application/pdf', text: '%PDF-1.4\nnot really a PDF' }]);
  const error = page.locator('[data-testid="error"][data-kind="document"]');
  await expectText(error, /broken\.pdf: .*(not a valid PDF|could not be read).*Try another file, or paste the text/, 60_000);
  await expectText(page.getByTestId('document-name'), /^notes\.txt$/);
  await screenshots('pdf-damaged', { at: error });
});

await t.run();
