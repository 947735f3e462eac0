// Error paths a person can provoke, through the real engine (no stand-in) and the embedded demo model:
// a document longer than the context window, an unsupported model folder, a model and a document too
// big for the GPU memory budget, a download cut off mid-file (Retry continues it) or cancelled (loading
// again continues it), and a lost GPU device (the model reloads; document and chat stay).
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { askAndWait, harbourReport, loadDemoModel, pasteDocument, setMaxTokens } from './support/app.ts';
import { expectHidden, expectText, expectVisible, suite } from './support/harness.ts';

const t = suite('engine errors');
const demoDir = fileURLToPath(new URL('../public/models/demo/', import.meta.url));

t.test('a document longer than the context window is flagged with the numbers', async ({ page, url, screenshots }) => {
  await page.goto(url());
  await loadDemoModel(page);
  // The demo tokenizer has a token per digit (as Qwen's) and its window is 32,768 tokens.
  await pasteDocument(page, '0123456789 '.repeat(3500));
  await expectText(page.getByTestId('too-long'), /38[,.\s]?500|32[,.\s]?768|32K/i, 60_000);
  await screenshots('too-long', { at: page.getByTestId('too-long') });
});

t.test('a model folder of an unsupported architecture says which ones are supported', async ({ page, url, screenshots }) => {
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
  await screenshots('unsupported-model', { at: error });
});

t.test('a model, then a document, too big for the GPU memory budget: refused with the numbers', async ({ page, url, screenshots }) => {
  await page.goto(url());
  const budget = page.getByTestId('settings-panel').getByLabel('GPU memory budget (GB)', { exact: true });
  // The demo model needs about 4.9 MB (2.0 MB of f32 weights, 2.9 MB of prefill scratch) and 1 KB of (f16) KV per token.
  await budget.fill('0.004');
  await budget.press('Tab');
  await page.getByTestId('load-model').click();
  const modelError = page.locator('[data-testid="error"][data-kind="too-big"]');
  await expectText(
    modelError,
    /The model is too big for this GPU.*needs 4\.\d MB \(weights 2\.\d MB \(f32\).*prefill scratch 2\.\d MB\) but the memory budget is 4\.0 MB.*do not fit.*raise the GPU memory budget/,
    60_000,
  );
  await screenshots('model-too-big', { at: modelError });

  // Room for the model, not for this document's KV cache (3002 tokens) next to the conversation's.
  await budget.fill('0.008');
  await budget.press('Tab');
  await loadDemoModel(page);
  await pasteDocument(page, 'lighthouse '.repeat(1000));
  await expectVisible(page.getByTestId('token-count'), 60_000);
  await page.getByTestId('encode').click();
  const documentError = page.getByTestId('document-panel').locator('[data-testid="error"][data-kind="too-big"]');
  await expectText(documentError, /KV cache for \d+ tokens and \d+ kept for the conversation [\d.]+ MB \(1024 bytes per token\).*memory budget is 8\.0 MB: the largest context that fits is \d+ tokens.*shorter document.*GPU memory budget/, 60_000);
  await expectText(page.getByTestId('document-name'), /Pasted text/);
  await screenshots('document-too-big', { at: documentError });
});

/** Answers with the file's full Content-Length, sends the first `cutAt` bytes, then drops the connection. */
async function cuttingServer(body: Buffer, cutAt: number) {
  const server = createServer((_, res) => {
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
    res.write(body.subarray(0, cutAt), () => setTimeout(() => res.socket?.destroy(), 100));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.safetensors`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Sends the file `chunk` bytes at a time, one chunk every `everyMs`; counts what it sent. */
async function tricklingServer(body: Buffer, chunk: number, everyMs: number) {
  let sent = 0;
  const server = createServer((_, res) => {
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
    const timer = setInterval(() => {
      const piece = body.subarray(sent, sent + chunk);
      sent += piece.length;
      res.write(piece);
      if (sent >= body.length) {
        clearInterval(timer);
        res.end();
      }
    }, everyMs);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.safetensors`,
    sent: () => sent,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

t.test('a download cut off mid-file: a network error with Retry, which continues it (Range) and the model answers', async ({ page, url, screenshots }) => {
  const weights = await readFile(join(demoDir, 'model.safetensors'));
  const half = Math.floor(weights.length / 2);
  const cut = await cuttingServer(weights, half);
  const ranges: Array<string | undefined> = [];
  // The first request for the weights goes to a server that breaks off half way; later ones to Vite.
  await page.route('**/models/demo/model.safetensors', (route) => {
    ranges.push(route.request().headers().range);
    return ranges.length === 1 ? route.continue({ url: cut.url }) : route.continue();
  });
  try {
    await page.goto(url());
    await setMaxTokens(page, 4);
    await pasteDocument(page, harbourReport);
    await page.getByTestId('load-model').click();
    const error = page.locator('[data-testid="error"][data-kind="network"]');
    await expectText(error, /Network error.*continues where it stopped/, 60_000);
    await expectText(page.getByTestId('document-name'), /Pasted text/);
    // What arrived is kept, and listed as a partial download.
    const cached = page.getByTestId('cached-models');
    await cached.locator('summary').click();
    await expectText(cached.getByTestId('cached-model'), /model\.safetensors partly downloaded/);
    await screenshots('network-error', { at: error });

    await error.getByRole('button', { name: 'Retry' }).click();
    await expectVisible(page.getByTestId('model-loaded'), 120_000);
    assert.equal(ranges.length, 2, `weights requested twice: ${JSON.stringify(ranges)}`);
    assert.equal(ranges[0], undefined, 'the first request is for the whole file');
    const from = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? '')?.[1]);
    assert.ok(from > 0 && from <= half, `the retry asks only for what is missing: ${ranges[1]} (cut at ${half} of ${weights.length})`);

    await expectVisible(page.getByTestId('token-count'), 60_000);
    const answer = await askAndWait(page, 'How many ships in March?');
    await expectText(answer.getByTestId('answer-stats'), /tokens\/s/);
    await page.getByRole('button', { name: 'Change model' }).click();
    await expectText(page.getByTestId('cached-models').locator('summary'), /Downloaded models: 1, /);
    await page.getByTestId('cached-models').locator('summary').click();
    await expectText(page.getByTestId('cached-model'), /5 files/);
    assert.doesNotMatch((await page.getByTestId('cached-model').textContent()) ?? '', /partly/);
  } finally {
    await cut.close();
  }
});

t.test('cancelling a slow download keeps what arrived; loading again continues it', async ({ page, url }) => {
  const weights = await readFile(join(demoDir, 'model.safetensors'));
  const slow = await tricklingServer(weights, 16 * 1024, 200);
  const ranges: Array<string | undefined> = [];
  await page.route('**/models/demo/model.safetensors', (route) => {
    ranges.push(route.request().headers().range);
    return ranges.length === 1 ? route.continue({ url: slow.url }) : route.continue();
  });
  try {
    await page.goto(url());
    await page.getByTestId('load-model').click();
    const progress = page.getByTestId('model-progress');
    await expectText(progress, /downloading model\.safetensors/, 60_000);
    // The total counts the tokenizer and configs (about 65 KB) too: 200 KB shown is at least 130 KB of weights.
    await expectText(progress, /^Model download\d+%[2-6]\d\d KB of 1\.0\d MB/, 60_000);
    await progress.getByRole('button', { name: 'Cancel' }).click();
    await expectText(page.getByTestId('model-panel'), /Model loading cancelled/);
    assert.ok(slow.sent() < weights.length, 'the download stopped with the cancel');

    await page.getByTestId('load-model').click();
    await expectVisible(page.getByTestId('model-loaded'), 120_000);
    const from = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? '')?.[1]);
    assert.ok(from >= 130_000 && from <= slow.sent(), `loading again continues from what arrived: ${ranges[1]} (${slow.sent()} bytes sent)`);
  } finally {
    await slow.close();
  }
});

t.test('device lost with the real engine: the model reloads by itself, document and chat stay, asking again works', async ({ page, url, screenshots }) => {
  await page.goto(url());
  await setMaxTokens(page, 4);
  await loadDemoModel(page);
  const host = page.workers().find((w) => w.url().includes('host.worker'));
  assert.ok(host, `a host Worker runs the model (workers: ${page.workers().map((w) => w.url()).join(', ')})`);
  // Test-only, inside the host's Worker: note the GPUDevice the engine works with, so the test can
  // destroy it below, which is what a driver reset or a crashed GPU process does to a device.
  await host.evaluate(() => {
    const seen = ((globalThis as { testDevices?: Set<GPUDevice> }).testDevices = new Set());
    const createCommandEncoder = GPUDevice.prototype.createCommandEncoder;
    GPUDevice.prototype.createCommandEncoder = function (this: GPUDevice, ...args) {
      seen.add(this);
      return createCommandEncoder.apply(this, args);
    };
  });
  await pasteDocument(page, harbourReport);
  const first = await askAndWait(page, 'How many ships in March?');
  const firstText = await first.getByTestId('answer-text').innerText();

  const reasons = await host.evaluate(async () => {
    const devices = [...((globalThis as { testDevices?: Set<GPUDevice> }).testDevices ?? [])];
    for (const device of devices) device.destroy();
    return Promise.all(devices.map(async (device) => (await device.lost).reason));
  });
  assert.deepEqual(reasons, ['destroyed']);

  await page.getByLabel('Question', { exact: true }).fill('And in April?');
  await page.getByLabel('Question', { exact: true }).press('Enter');
  const banner = page.getByTestId('device-lost');
  await expectText(banner, /The GPU stopped \(device lost\).*GPU device lost \(destroyed\)|The model was reloaded after the GPU stopped/, 60_000);
  await expectText(banner, /The model was reloaded after the GPU stopped.*ask again/, 120_000);
  await expectText(page.getByTestId('document-name'), /Pasted text/);
  await expectVisible(page.getByTestId('encode-stats'));
  assert.equal(await page.getByTestId('message-user').count(), 2, 'both questions stay');
  assert.equal(await page.getByTestId('answer-text').first().innerText(), firstText, 'the first answer stays');
  await expectText(page.locator('[data-testid="message-answer"]').nth(1), /The GPU stopped \(device lost\)/);
  await screenshots('device-lost-reloaded', { at: banner });

  const third = await askAndWait(page, 'And in April?');
  await expectText(third.getByTestId('answer-stats'), /tokens\/s/);
  await expectHidden(banner);
  assert.equal(await page.getByTestId('message-user').count(), 3);
});

await t.run();
