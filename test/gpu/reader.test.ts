// The reader end to end on the embedded demo model (public/models/demo: hand-built weights that quote
// the document, a byte-level BPE tokenizer, ChatML): a document in, questions in, streamed text and stats out.
// Node: in-process hosts; Chromium: hosts in Workers. Chromium runs what crosses the Workers (loading,
// encoding over two hosts, a streamed, an aborted and a cited answer, full attention); the follow-up
// and the answer prefix are the reader's own bookkeeping, the same code whatever the hosts, and run in
// Node only (defined there, not skipped in Chromium: they were half a minute of SwiftShader each).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReader } from '../../src/star/reader.ts';
import type { LoadProgress, Reader } from '../../src/star/reader-api.ts';
import type { ModelSource } from '../../src/model/source/model-source.ts';
import { inBrowser } from '../support/gpu.ts';

const demo: ModelSource = inBrowser
  ? { kind: 'url', base: new URL('/models/demo/', location.origin).href }
  : { kind: 'directory', path: decodeURIComponent(new URL('../../public/models/demo/', import.meta.url).pathname) };

const document = 'The lighthouse keeper counted ships every night. '.repeat(60);

async function answer(reader: Reader, question: string, options: Parameters<Reader['ask']>[1] = {}) {
  const pieces: string[] = [];
  const stream = reader.ask(question, { maxTokens: 12, ...options });
  for (;;) {
    const next = await stream.next();
    if (next.done) return { text: pieces.join(''), pieces, stats: next.value };
    pieces.push(next.value);
  }
}

describe('reader on the demo model', () => {
  let reader: Reader;
  const loadProgress: LoadProgress[] = [];
  beforeAll(async () => {
    reader = await createReader({ model: demo, hosts: 2, blockSize: 256, onLoadProgress: (p) => loadProgress.push(p) });
  });
  afterAll(async () => reader?.dispose());

  it('reports loading progress up to every byte of the weights', () => {
    const placement = loadProgress.filter((p) => p.type === 'place');
    const last = placement[placement.length - 1];
    expect(placement.length).toBeGreaterThan(1);
    expect(loadProgress.at(-1)).toBe(last); // placement comes after every download
    expect(last.bytesTotal).toBeGreaterThan(0);
    expect(last.bytesDone).toBe(last.bytesTotal);
  });

  it('describes the model it loaded', () => {
    expect(reader.model.modelType).toBe('qwen2');
    expect(reader.model.contextWindow).toBe(32768);
    expect(reader.model.weightBytes).toBeGreaterThan(0);
    // Byte-level BPE: a common word is one token, anything else falls back to its UTF-8 bytes.
    expect(reader.countTokens(' the')).toBe(1);
    expect(reader.countTokens('héllo')).toBe(5);
  });

  it('encodes a document with Star Attention over two hosts and streams an answer', async () => {
    const progress: number[] = [];
    const stats = await reader.loadDocument(document, { onProgress: (p) => progress.push(p.tokensDone) });
    expect(stats.attention).toBe('star');
    expect(stats.hosts).toBe(2);
    expect(stats.blockSize).toBe(256);
    expect(stats.blocks).toBe(Math.ceil(stats.tokens / 256));
    expect(stats.tokens).toBeGreaterThan(reader.countTokens(document)); // the chat template adds its header
    expect(stats.kvBytesPerHost.every((b) => b > 0)).toBe(true);
    expect(stats.attentionPairs).toBeLessThan(stats.fullAttentionPairs);
    // 4 FLOPs per head dimension per pair (QKᵀ and PV), 1 head of 128, 2 layers.
    expect(stats.attentionFlops).toBe(stats.attentionPairs * 4 * 128 * 1 * 2);
    expect(stats.fullAttentionFlops).toBe(stats.fullAttentionPairs * 4 * 128 * 1 * 2);
    expect(progress[progress.length - 1]).toBe(stats.tokens);

    const first = await answer(reader, 'How many ships?');
    expect(first.stats.generatedTokens).toBeGreaterThan(0);
    expect(first.stats.promptTokens).toBeGreaterThan(reader.countTokens('How many ships?'));
    expect(first.pieces.length).toBeGreaterThan(0);
    expect(first.stats.queryMs).toBeGreaterThan(0);
  });

  it('an aborted answer leaves no trace: asking again gives the same greedy answer', async () => {
    await reader.loadDocument(document);
    const whole = await answer(reader, 'Who counted?');
    await reader.loadDocument(document);
    const controller = new AbortController();
    const stream = reader.ask('Who counted?', { maxTokens: 12, signal: controller.signal });
    await stream.next();
    controller.abort();
    let result = await stream.next();
    while (!result.done) result = await stream.next();
    expect(result.value.stoppedBy).toBe('abort');
    const again = await answer(reader, 'Who counted?');
    expect(again.text).toBe(whole.text);
  });

  if (!inBrowser) it('a follow-up question appends to the conversation', async () => {
    await reader.loadDocument(document);
    await answer(reader, 'First question?');
    const followUp = await answer(reader, 'And then?');
    expect(followUp.stats.generatedTokens).toBeGreaterThan(0);
    // The follow-up query holds the end of the previous assistant turn and the new user turn.
    expect(followUp.stats.promptTokens).toBeGreaterThan(reader.countTokens('And then?'));
  });

  if (!inBrowser) it('an answer prefix is fed after the assistant header and the answer continues it', async () => {
    await reader.loadDocument(document);
    const plain = await answer(reader, 'Who counted?', { maxTokens: 1 });
    await reader.loadDocument(document);
    const prefixed = await answer(reader, 'Who counted?', { answerPrefix: 'It was', maxTokens: 4 });
    // The prefix's tokens join the query, and none of it is streamed back.
    expect(prefixed.stats.promptTokens).toBe(plain.stats.promptTokens + reader.countTokens('It was'));
    expect(prefixed.text).not.toMatch(/^It was/);
    // Greedy: feeding the prefix plus the first generated piece (one whole word token) continues with the rest.
    expect(prefixed.pieces[0]).toMatch(/^ ?[a-z]+$/i);
    expect(reader.countTokens(prefixed.pieces[0])).toBe(1);
    await reader.loadDocument(document);
    const longer = await answer(reader, 'Who counted?', { answerPrefix: 'It was' + prefixed.pieces[0], maxTokens: 3 });
    expect(longer.text).toBe(prefixed.pieces.slice(1, 4).join(''));
  });

  it('cites passages of the document as character ranges; citations: false answers the same without them', async () => {
    const text = Array.from({ length: 40 }, (_, i) => `Note ${i}: the keeper saw ${i} ships.`).join(' ');
    await reader.loadDocument(text);
    const cited = await answer(reader, 'How many ships?', { citations: { top: 2, spanTokens: 64 } });
    const c = cited.stats.citations!;
    expect(c.tokens).toBe(cited.stats.generatedTokens);
    // The spans tile the whole document, in order.
    expect(c.spans[0].start).toBe(0);
    expect(c.spans[c.spans.length - 1].end).toBe(text.length);
    for (let i = 1; i < c.spans.length; i++) expect(c.spans[i].start).toBe(c.spans[i - 1].end);
    expect(c.spans.length).toBe(Math.ceil(reader.countTokens(text) / 64));
    expect(c.spans.every((s) => s.share >= 0)).toBe(true);
    expect(c.documentShare).toBeGreaterThan(0);
    expect(c.documentShare).toBeLessThanOrEqual(1 + 1e-5);
    expect(c.passages).toHaveLength(2);
    expect(c.passages[0].share).toBeGreaterThanOrEqual(c.passages[1].share);
    expect(c.spans).toContainEqual(c.passages[0]);

    await reader.loadDocument(text);
    const plain = await answer(reader, 'How many ships?', { citations: false });
    expect(plain.stats.citations).toBeUndefined();
    expect(plain.text).toBe(cited.text);
  });

  it('full attention through the same reader', async () => {
    const stats = await reader.loadDocument(document, { attention: 'full' });
    expect(stats.hosts).toBe(1);
    expect(stats.attentionPairs).toBe(stats.fullAttentionPairs);
    expect((await answer(reader, 'How many ships?')).stats.generatedTokens).toBeGreaterThan(0);
  });
});
