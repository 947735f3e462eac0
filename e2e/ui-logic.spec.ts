// The app's plain modules in Node, no browser: the session state machine (against a scripted test double
// of the Reader interface, not the engine), truncation, error descriptions, formatting, Hub ids.
import assert from 'node:assert/strict';
import { answerStream, type AnswerStats, type EncodeStats, type Reader, type ReaderOptions } from '../src/star/reader-api.ts';
import { describeError, isAbort, isDeviceLost } from '../src/ui/errors.ts';
import { formatBytes, formatDuration, formatParams, formatTokensShort } from '../src/ui/format.ts';
import { hubBase, hubSource, parseHubRepo, recommendedModels, urlModelLabel, type ModelChoice } from '../src/ui/models.ts';
import { defaultSettings, engineSettings, sameEngine } from '../src/ui/settings.ts';
import { RateMeter } from '../src/ui/progress.ts';
import { documentText, ReaderSession, type SessionState } from '../src/ui/session.ts';
import { prefixWithinTokens } from '../src/ui/truncate.ts';
import { nodeSuite } from './support/harness.ts';

const t = nodeSuite('ui logic (no browser)');

const wordCount = (text: string) => text.match(/\S+/g)?.length ?? 0;
const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** A scripted Reader: word-count tokens, a few-piece answer, faults on demand. */
function scripted(script: { loadFault?: Error; askFault?: Error; pieceMs?: number; loadMs?: number } = {}) {
  const made: Array<{ options: ReaderOptions; disposed: boolean; encoded: number }> = [];
  const factory = async (options: ReaderOptions): Promise<Reader> => {
    const record = { options, disposed: false, encoded: 0 };
    made.push(record);
    for (let i = 1; i <= 4; i++) {
      await tick(script.loadMs ?? 1);
      options.signal?.throwIfAborted();
      options.onLoadProgress?.({ type: 'place', bytesDone: i * 25, bytesTotal: 100, tensor: `t${i}` });
    }
    if (script.loadFault) throw script.loadFault;
    return {
      model: { name: 'scripted', modelType: 'llama', parameters: 1e6, contextWindow: 1024, weightBytes: 2e6, adapter: 'none' },
      countTokens: wordCount,
      async loadDocument(doc, o = {}) {
        const n = typeof doc === 'string' ? wordCount(doc) : doc.length;
        o.onProgress?.({ tokensDone: n / 2, tokensTotal: n, elapsedMs: 5 });
        await tick(1);
        o.signal?.throwIfAborted();
        record.encoded++;
        return {
          tokens: n,
          blocks: 2,
          blockSize: Math.ceil(n / 2),
          hosts: options.hosts ?? 1,
          attention: options.attention ?? 'star',
          encodeMs: 10,
          tokensPerSecond: n * 100,
          kvBytesPerHost: [1000, 500],
          attentionPairs: 1,
          fullAttentionPairs: 2,
          attentionFlops: 4,
          fullAttentionFlops: 8,
        } satisfies EncodeStats;
      },
      ask: (question, o = {}) => answerStream((async function* (): AsyncGenerator<string, AnswerStats> {
        const pieces = ['Answer', ' to', ` ${question}`, '.'];
        let i = 0;
        for (; i < pieces.length && !o.signal?.aborted; i++) {
          await tick(script.pieceMs ?? 1);
          if (i === 2 && script.askFault) throw script.askFault;
          yield pieces[i];
        }
        return { promptTokens: 3, generatedTokens: i, queryMs: 7, decodeTokensPerSecond: 50, stoppedBy: o.signal?.aborted ? 'abort' : 'eos' };
      })()),
      async resetConversation() {},
      async dispose() {
        record.disposed = true;
      },
    };
  };
  return { factory, made };
}

const source: ModelChoice = { key: 'test', label: 'Test model', source: { kind: 'url', base: 'http://127.0.0.1/none/' } };
const engine = { attention: 'star' as const, hosts: 2 };

function phases(session: ReaderSession): SessionState['phase'][] {
  const seen: SessionState['phase'][] = [session.getSnapshot().phase];
  session.subscribe(() => {
    const phase = session.getSnapshot().phase;
    if (seen.at(-1) !== phase) seen.push(phase);
  });
  return seen;
}

async function until(check: () => boolean, what: string) {
  for (let i = 0; i < 200 && !check(); i++) await tick(5);
  assert.ok(check(), what);
}

t.test('session: idle → loading-model → ready, with progress, model and token count', async () => {
  const { factory, made } = scripted();
  const session = new ReaderSession(factory);
  const seen = phases(session);
  const progress: number[] = [];
  session.subscribe(() => session.getSnapshot().loadProgress && progress.push(session.getSnapshot().loadProgress!.done));
  session.setDocument({ name: 'd', kind: 'txt', text: words(40) });
  assert.deepEqual(session.getSnapshot().tokens, { status: 'needs-model' });
  assert.equal(await session.loadModel(source, engine), true);
  assert.deepEqual(seen, ['idle', 'loading-model', 'ready']);
  assert.deepEqual(progress.filter((p) => p > 0), [25, 50, 75, 100]);
  assert.equal(made[0].options.hosts, 2);
  assert.equal(made[0].options.attention, 'star');
  assert.equal(session.getSnapshot().model?.contextWindow, 1024);
  await until(() => session.getSnapshot().tokens.status === 'counted', 'tokens counted');
  assert.deepEqual(session.getSnapshot().tokens, { status: 'counted', total: 40, used: 40 });
});

t.test('session: cancelling a download returns to idle without an error', async () => {
  const { factory } = scripted({ loadMs: 20 });
  const session = new ReaderSession(factory);
  const loading = session.loadModel(source, engine);
  await tick(5);
  session.cancel();
  assert.equal(await loading, false);
  const s = session.getSnapshot();
  assert.equal(s.phase, 'idle');
  assert.equal(s.error, undefined);
  assert.match(s.notice ?? '', /cancelled/);
});

t.test('session: a failed download keeps the document and says "network"', async () => {
  const { factory } = scripted({ loadFault: new TypeError('Failed to fetch') });
  const session = new ReaderSession(factory);
  session.setDocument({ name: 'd', kind: 'txt', text: 'keep me' });
  assert.equal(await session.loadModel(source, engine), false);
  const s = session.getSnapshot();
  assert.equal(s.phase, 'idle');
  assert.equal(s.error?.kind, 'network');
  assert.equal(s.error?.step, 'model');
  assert.equal(s.document?.text, 'keep me');
});

t.test('session: a newer load supersedes an older one, whose reader is freed', async () => {
  const { factory, made } = scripted({ loadMs: 10 });
  const session = new ReaderSession(factory);
  const first = session.loadModel(source, engine);
  await tick(2);
  const second = session.loadModel({ ...source, key: 'b', label: 'B' }, { attention: 'full', hosts: 1 });
  assert.equal(await first, false);
  assert.equal(await second, true);
  assert.equal(session.getSnapshot().source?.key, 'b');
  assert.equal(session.getSnapshot().phase, 'ready');
  assert.equal(made.length, 2);
});

t.test('session: ask reads the document first, streams, and records stats and KV bytes', async () => {
  const { factory, made } = scripted();
  const session = new ReaderSession(factory);
  await session.loadModel(source, engine);
  session.setDocument({ name: 'd', kind: 'txt', text: words(10) });
  const seen = phases(session);
  await session.ask('why?', { maxTokens: 5 });
  assert.deepEqual(seen, ['ready', 'encoding', 'ready', 'answering', 'ready']);
  const [user, answer] = session.getSnapshot().messages;
  assert.equal(user.text, 'why?');
  assert.equal(answer.text, 'Answer to why?.');
  assert.equal(answer.status, 'done');
  assert.equal(answer.stats?.queryMs, 7);
  assert.equal(answer.kvBytes, 1500);
  await session.ask('again');
  assert.equal(made[0].encoded, 1, 'a follow-up question reuses the encoded document');
  assert.equal(session.getSnapshot().messages.length, 4);
});

t.test('session: stop keeps the partial answer and returns to ready', async () => {
  const { factory } = scripted({ pieceMs: 15 });
  const session = new ReaderSession(factory);
  await session.loadModel(source, engine);
  session.setDocument({ name: 'd', kind: 'txt', text: words(10) });
  const asking = session.ask('q');
  await until(() => (session.getSnapshot().messages[1]?.text ?? '') !== '', 'first piece');
  session.cancel();
  await asking;
  const answer = session.getSnapshot().messages[1];
  assert.equal(answer.status, 'stopped');
  assert.ok(answer.text.startsWith('Answer'));
  assert.equal(session.getSnapshot().phase, 'ready');
  assert.equal(session.getSnapshot().error, undefined);
});

t.test('session: device lost → the model reloads by itself and re-reads; a second loss in a row waits for the user', async () => {
  const lost = new Error('Host 0: GPU device lost (unknown): gone');
  lost.name = 'HostError';
  const script = scripted({ askFault: lost });
  const session = new ReaderSession(script.factory);
  await session.loadModel(source, engine);
  session.setDocument({ name: 'd', kind: 'txt', text: words(10) });
  await session.ask('q');
  let s = session.getSnapshot();
  assert.equal(s.phase, 'lost');
  assert.equal(s.error?.kind, 'lost');
  assert.equal(s.recovery?.status, 'reloading');
  assert.equal(s.messages.length, 2);
  assert.equal(s.messages[1].status, 'error');
  assert.equal(script.made[0].disposed, true);
  await until(() => session.getSnapshot().recovery?.status === 'reloaded', 'reloaded by itself');
  s = session.getSnapshot();
  assert.equal(s.phase, 'ready');
  assert.equal(s.encoded?.tokens, 10);
  assert.equal(s.messages.length, 2);
  assert.equal(s.error, undefined);
  assert.equal(script.made.length, 2);
  assert.equal(script.made[1].options.hosts, 2, 'reload keeps the engine settings');

  // This scripted engine loses every answer: no answer went through since the reload, so no loop.
  await session.ask('q2');
  await tick(20);
  s = session.getSnapshot();
  assert.equal(s.phase, 'lost');
  assert.equal(s.recovery?.status, 'stopped');
  assert.equal(script.made.length, 2);
  assert.equal(await session.recover(), true);
  assert.equal(session.getSnapshot().recovery?.status, 'reloaded');
  assert.equal(session.getSnapshot().messages.length, 4);
  session.dismissError();
  assert.equal(session.getSnapshot().recovery, undefined);
});

t.test('session: truncate to a budget and back; the full text is kept', async () => {
  const { factory } = scripted();
  const session = new ReaderSession(factory);
  await session.loadModel(source, engine);
  session.setDocument({ name: 'd', kind: 'txt', text: words(2000) });
  await until(() => session.getSnapshot().tokens.status === 'counted', 'counted');
  assert.equal(session.documentBudget(256), 1024 - 256 - 256);
  session.truncateDocument(session.documentBudget(256));
  const s = session.getSnapshot();
  assert.deepEqual(s.tokens, { status: 'counted', total: 2000, used: 512 });
  assert.equal(wordCount(documentText(s.document!)), 512);
  assert.equal(s.document!.text, words(2000));
  session.useWholeDocument();
  await until(() => session.getSnapshot().tokens.status === 'counted', 'recounted');
  assert.deepEqual(session.getSnapshot().tokens, { status: 'counted', total: 2000, used: 2000 });
});

t.test('session: a new document while reading cancels the reading', async () => {
  const { factory } = scripted();
  const session = new ReaderSession(factory);
  await session.loadModel(source, engine);
  session.setDocument({ name: 'a', kind: 'txt', text: words(10) });
  const reading = session.encodeDocument();
  session.setDocument({ name: 'b', kind: 'txt', text: words(5) });
  assert.equal(await reading, false);
  assert.equal(session.getSnapshot().encoded, undefined);
  assert.equal(session.getSnapshot().phase, 'ready');
  assert.equal(await session.encodeDocument(), true);
  assert.equal(session.getSnapshot().encoded?.tokens, 5);
});

t.test('truncate: the longest whole-word prefix within the budget', () => {
  const text = words(1000);
  const cut = prefixWithinTokens(wordCount, text, 333);
  assert.equal(cut.tokens, 333);
  assert.equal(text.slice(0, cut.chars).trim().split(' ').at(-1), 'w332');
  assert.deepEqual(prefixWithinTokens(wordCount, 'a b c', 10), { chars: 5, tokens: 3 });
  assert.equal(prefixWithinTokens(wordCount, text, 0).tokens, 0);
});

t.test('errors: the engine’s messages map to what to do', () => {
  const named = (name: string, message: string) => Object.assign(new Error(message), { name });
  const gated = describeError(named('ModelSourceError', 'https://huggingface.co/x/y/resolve/main/config.json: HTTP 401 (a gated or private model needs access rights)'), 'model');
  assert.equal(gated.kind, 'http');
  assert.match(gated.help, /login/);
  assert.match(describeError(named('ModelSourceError', 'https://h/x/config.json: HTTP 404 Not Found'), 'model').help, /repo id/);
  assert.equal(describeError(new TypeError('Failed to fetch'), 'model').kind, 'network');
  assert.equal(describeError(named('ModelConfigError', 'config.json: model_type "gpt2" is not supported'), 'model').kind, 'unsupported');
  const oom = describeError(named('ModelWeightsError', 'Out of GPU memory allocating x (500 bytes) after 4000 bytes of weights'), 'model');
  assert.equal(oom.kind, 'too-big');
  assert.match(oom.message, /500 bytes/);
  assert.equal(describeError(named('EngineError', "The conversation reached the model's context window of 4096 tokens"), 'answer').title, 'The conversation is full');
  assert.ok(isDeviceLost(named('HostError', 'Host 1: GPU device lost (destroyed): x')));
  assert.ok(!isDeviceLost(new Error('lost in translation')));
  assert.ok(isAbort(new DOMException('stop', 'AbortError')));
  assert.equal(describeError(named('NoWebGpuError', 'WebGPU is not available. Use Chrome'), 'model').kind, 'no-webgpu');
  // The memory plan's refusals: the model at load, the document before phase 1; each with its own advice.
  const plan = 'This model does not fit: needs 9.4 MB (weights 1.7 MB (f32), …) but the memory budget is 8.0 MB';
  const model = describeError(named('Error', plan), 'model');
  assert.deepEqual([model.kind, model.title, model.retry], ['too-big', 'The model is too big for this GPU', false]);
  assert.match(model.help, /smaller model.*GPU memory budget/);
  const document = describeError(named('EngineError', plan), 'document');
  assert.deepEqual([document.kind, document.title], ['too-big', 'Too big for this GPU']);
  assert.match(document.help, /shorter document/);
  // A download that broke off: still a network error, with the file and the bytes in the message.
  const cut = describeError(new TypeError('http://h/m/model.safetensors: the connection broke after 10 of 20 bytes; they are kept (network error)'), 'model');
  assert.deepEqual([cut.kind, cut.retry], ['network', true]);
  assert.match(cut.help, /continues where it stopped/);
});

t.test('settings: the GPU memory budget in GB becomes bytes for the engine, and a change asks for a reload', () => {
  assert.equal(engineSettings(defaultSettings).deviceMemoryBudget, undefined);
  const budgeted = engineSettings({ ...defaultSettings, memoryBudgetGb: 0.004 });
  assert.equal(budgeted.deviceMemoryBudget, 4_000_000);
  assert.equal(sameEngine(engineSettings(defaultSettings), budgeted), false);
  assert.equal(sameEngine(budgeted, engineSettings({ ...defaultSettings, memoryBudgetGb: 0.004 })), true);
});

t.test('format: sizes, durations, context windows, parameters', () => {
  assert.equal(formatBytes(988_065_536), '988 MB');
  assert.equal(formatBytes(2_471_628_800), '2.47 GB');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatDuration(850), '850 ms');
  assert.equal(formatDuration(12_345), '12.3 s');
  assert.equal(formatDuration(125_000), '2 min 05 s');
  assert.equal(formatDuration(3_725_000), '1 h 02 min');
  assert.deepEqual([32768, 40960, 131072, 8192, 3200].map(formatTokensShort), ['32K', '40K', '128K', '8K', '3.2K']);
  assert.equal(formatParams(494_032_768), '494M');
  assert.equal(formatParams(1_235_814_400), '1.24B');
});

t.test('models: Hub ids, links and the recommended list', () => {
  assert.equal(parseHubRepo(' Qwen/Qwen3-0.6B '), 'Qwen/Qwen3-0.6B');
  assert.equal(parseHubRepo('https://huggingface.co/HuggingFaceTB/SmolLM2-360M-Instruct/blob/main/config.json'), 'HuggingFaceTB/SmolLM2-360M-Instruct');
  for (const bad of ['', 'qwen', 'a/b/c', '../x/y', 'a /b', 'https://example.com/a/b']) assert.equal(parseHubRepo(bad), undefined, bad);
  assert.equal(hubBase('Qwen/Qwen3-0.6B'), 'https://huggingface.co/Qwen/Qwen3-0.6B/resolve/main/');
  assert.equal(recommendedModels.length, 17);
  for (const m of recommendedModels.filter((r) => r.weights === 'bf16')) assert.equal(m.downloadBytes, m.parameters * 2);
  // The 4-bit builds: their files, between 4 and 8 bits a parameter (16-bit embeddings included).
  const quantized = recommendedModels.filter((r) => r.weights === 'q4');
  assert.deepEqual(quantized.map((m) => m.name.split(' ')[0]), ['Qwen2.5-1.5B-Instruct', 'Qwen2.5-3B-Instruct', 'Llama-3.2-3B-Instruct', 'Llama-3.1-8B-Instruct']);
  for (const m of quantized) assert.ok(m.downloadBytes > m.parameters / 2 && m.downloadBytes < m.parameters, m.name);
  assert.equal(hubSource('Qwen/Qwen2.5-3B-Instruct-GPTQ-Int4').weights, 'q4');
  assert.equal(hubSource('Qwen/Qwen2.5-0.5B-Instruct').contextWindow, 32768);
  assert.equal(hubSource('someone/else').label, 'someone/else');
  assert.equal(urlModelLabel(hubBase('Qwen/Qwen3-0.6B'), 'http://127.0.0.1:5173/'), 'Qwen/Qwen3-0.6B');
  assert.equal(urlModelLabel('http://127.0.0.1:5173/models/demo/', 'http://127.0.0.1:5173/'), 'Embedded demo model');
  assert.equal(urlModelLabel('https://example.com/m/', 'http://127.0.0.1:5173/'), 'https://example.com/m/');
});

t.test('progress: speed over a sliding window and time left', () => {
  const meter = new RateMeter(3000);
  meter.sample(0, 1000, 0);
  const p = meter.sample(100, 1000, 1000);
  assert.equal(p.perSecond, 100);
  assert.equal(p.msLeft, 9000);
  meter.sample(200, 1000, 2000);
  meter.sample(300, 1000, 3000);
  const later = meter.sample(700, 1000, 4000);
  assert.equal(later.perSecond, (700 - 100) / 3, 'the oldest sample left the window');
});

await t.run();
