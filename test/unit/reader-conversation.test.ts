// The reader's conversation state after every way an answer can end, on scripted hosts (no GPU): the
// scripted model's reply names the KV row where it starts, and the host checks on each feed that the
// engine's position is its KV's length. After each ending, the KV and the next answer must equal those
// of a fresh reader asked only the questions whose answers were kept.
import { describe, expect, it } from 'vitest';
import { createReader, ReaderError } from '../../src/star/reader.ts';
import type { AnswerStats, AskOptions, Reader } from '../../src/star/reader-api.ts';
import { HostError } from '../../src/star/host-error.ts';
import { demoTextFiles, filesLocation, scriptedHosts, tokenizerOf } from '../support/scripted-host.ts';

const document = 'The lighthouse keeper counted ships every night.';
const withTemplate = demoTextFiles();
const plain = demoTextFiles({ tokenizerConfig: (config) => delete config.chat_template });

async function open(files: Map<string, string>, reply: (start: number) => string = (start) => `From ${start}.`) {
  const eosTokenId = tokenizerOf(files).eosTokenId!;
  const { open: openHost, hosts } = scriptedHosts(files, { reply, eosTokenId });
  const reader = await createReader({ model: filesLocation(files), openHost });
  await reader.loadDocument(document);
  return { reader, host: hosts[0] };
}

async function collect(stream: AsyncGenerator<string, AnswerStats>): Promise<{ text: string; stats: AnswerStats }> {
  let text = '';
  for (;;) {
    const next = await stream.next();
    if (next.done) return { text, stats: next.value };
    text += next.value;
  }
}

/** The KV and last answer of a fresh reader asked `questions` in turn, each answered in full. */
async function fresh(files: Map<string, string>, questions: string[], options: AskOptions = {}, reply?: (start: number) => string) {
  const { reader, host } = await open(files, reply);
  let last = { text: '', stats: undefined as AnswerStats | undefined };
  for (const question of questions) last = await collect(reader.ask(question, options));
  return { kv: [...host.kv], text: last.text };
}

/** Starts an answer and stops reading it after its first piece, the way `how` says. */
async function leaveEarly(reader: Reader, how: 'break' | 'return' | 'throw'): Promise<void> {
  const stream = reader.ask('Who counted?');
  if (how === 'break') {
    for await (const piece of stream) {
      expect(piece).not.toBe('');
      break;
    }
    return;
  }
  await stream.next();
  if (how === 'return') await stream.return(undefined as never);
  else await expect(stream.throw(new Error('consumer failed'))).rejects.toThrow('consumer failed');
}

describe('reader conversation state', () => {
  it('gives the stats to a for-await loop as the stream\'s `stats`, the same as the generator\'s return value', async () => {
    const { reader } = await open(withTemplate);
    const stream = reader.ask('Who counted?');
    let text = '';
    for await (const piece of stream) {
      expect(stream.stats).toBeUndefined();
      text += piece;
    }
    expect(stream.stats?.stoppedBy).toBe('eos');
    expect(stream.stats?.generatedTokens).toBeGreaterThan(0);
    const again = await open(withTemplate);
    const returned = await collect(again.reader.ask('Who counted?'));
    expect(returned.text).toBe(text);
    expect({ ...stream.stats, queryMs: 0, decodeTokensPerSecond: 0 }).toEqual({ ...returned.stats, queryMs: 0, decodeTokensPerSecond: 0 });
  });

  it('keeps an answer that ends by itself and builds the follow-up on it', async () => {
    const { reader, host } = await open(withTemplate);
    const first = await collect(reader.ask('Who counted?'));
    expect(first.stats.stoppedBy).toBe('eos');
    const followUp = await collect(reader.ask('And then?'));
    const reference = await fresh(withTemplate, ['Who counted?', 'And then?']);
    expect(followUp.text).toBe(reference.text);
    expect(host.kv).toEqual(reference.kv);
    // The follow-up's answer starts after the whole first turn.
    expect(Number(/From (\d+)/.exec(followUp.text)![1])).toBeGreaterThan(Number(/From (\d+)/.exec(first.text)![1]));
  });

  it('keeps an answer cut at max tokens', async () => {
    const { reader, host } = await open(withTemplate);
    const cut = await collect(reader.ask('Who counted?', { maxTokens: 3 }));
    expect(cut.stats.stoppedBy).toBe('max-tokens');
    expect(cut.stats.generatedTokens).toBe(3);
    const whole = await collect(reader.ask('Who counted?'));
    expect(whole.text.startsWith(cut.text) && whole.text.length > cut.text.length).toBe(true);
    await reader.resetConversation();
    await collect(reader.ask('Who counted?', { maxTokens: 3 }));
    const followUp = await collect(reader.ask('And then?', { maxTokens: 3 }));
    const reference = await fresh(withTemplate, ['Who counted?', 'And then?'], { maxTokens: 3 });
    expect(followUp.text).toBe(reference.text);
    expect(host.kv).toEqual(reference.kv);
  });

  it('keeps an answer ended by a stop string (a model without a chat template)', async () => {
    const reply = (start: number) => `From ${start}\nQuestion: more`;
    const { reader, host } = await open(plain, reply);
    const stopped = await collect(reader.ask('Who counted?'));
    expect(stopped.stats.stoppedBy).toBe('stop-string');
    expect(stopped.text).toMatch(/^From \d+$/);
    await collect(reader.ask('And then?'));
    const reference = await fresh(plain, ['Who counted?', 'And then?'], {}, reply);
    expect(host.kv).toEqual(reference.kv);
  });

  for (const how of ['break', 'return', 'throw'] as const) {
    it(`leaves no trace when the caller leaves the loop early (${how})`, async () => {
      const { reader, host } = await open(withTemplate);
      await collect(reader.ask('First?'));
      const kept = [...host.kv];
      await leaveEarly(reader, how);
      expect(host.kv).toEqual(kept);
      const next = await collect(reader.ask('And then?'));
      const reference = await fresh(withTemplate, ['First?', 'And then?']);
      expect(next.text).toBe(reference.text);
      expect(host.kv).toEqual(reference.kv);
    });
  }

  it('leaves no trace after an abort signal, and says it stopped by abort', async () => {
    const { reader, host } = await open(withTemplate);
    const controller = new AbortController();
    const stream = reader.ask('Who counted?', { signal: controller.signal });
    await stream.next();
    controller.abort();
    const rest = await collect(stream);
    expect(rest.stats.stoppedBy).toBe('abort');
    const next = await collect(reader.ask('And then?'));
    const reference = await fresh(withTemplate, ['And then?']);
    expect(next.text).toBe(reference.text);
    expect(host.kv).toEqual(reference.kv);
  });

  it('leaves no trace after an error mid-answer, and throws it', async () => {
    const { reader, host } = await open(withTemplate);
    const stream = reader.ask('Who counted?');
    await stream.next();
    host.failNextFeed = new HostError(0, 'kernel failed');
    await expect(collect(stream)).rejects.toThrow('kernel failed');
    const next = await collect(reader.ask('And then?'));
    const reference = await fresh(withTemplate, ['And then?']);
    expect(next.text).toBe(reference.text);
    expect(host.kv).toEqual(reference.kv);
  });

  it('drops the conversation when the device is lost mid-answer, until the document is loaded again', async () => {
    const { reader, host } = await open(withTemplate);
    await collect(reader.ask('First?'));
    const stream = reader.ask('Who counted?');
    await stream.next();
    host.failNextFeed = new HostError(0, 'the GPU device was lost', 'device-lost');
    host.failTruncate = new HostError(0, 'the GPU device was lost', 'device-lost');
    await expect(collect(stream)).rejects.toThrow('the GPU device was lost');
    // The KV could not be cut back: asking on it would build on a turn the history does not hold.
    await expect(collect(reader.ask('And then?'))).rejects.toThrow(/could not be restored .*load the document again/);
    await expect(reader.resetConversation()).rejects.toThrow(ReaderError);
    host.failTruncate = undefined;
    await reader.loadDocument(document);
    const next = await collect(reader.ask('And then?'));
    expect(next.text).toBe((await fresh(withTemplate, ['And then?'])).text);
  });
});

describe('resetConversation', () => {
  it('forgets every turn without encoding the document again: the next question is a first question', async () => {
    const { reader, host } = await open(withTemplate);
    await collect(reader.ask('First?'));
    await collect(reader.ask('Second?'));
    await reader.resetConversation();
    const next = await collect(reader.ask('And then?'));
    const reference = await fresh(withTemplate, ['And then?']);
    expect(next.text).toBe(reference.text);
    expect(host.kv).toEqual(reference.kv);
    expect(host.calls.filter((call) => call === 'encode')).toHaveLength(1);
  });

  it('does nothing before a document is loaded', async () => {
    const { open: openHost, hosts } = scriptedHosts(withTemplate, { reply: () => 'x', eosTokenId: 258 });
    const reader = await createReader({ model: filesLocation(withTemplate), openHost });
    await reader.resetConversation();
    expect(hosts[0].calls).toEqual([]);
  });

  it('is refused while an answer is streaming, and works once it is returned', async () => {
    const { reader, host } = await open(withTemplate);
    const stream = reader.ask('Who counted?');
    await stream.next();
    await expect(reader.resetConversation()).rejects.toThrow(/busy/);
    await stream.return(undefined as never);
    await reader.resetConversation();
    expect(host.kv).toEqual((await fresh(withTemplate, [])).kv);
  });
});
