// Token ids the model has no embedding row for are refused by the engine before any host runs (the
// GPU would read past the embedding table), and refusing them loses nothing already encoded.
import { describe, expect, it } from 'vitest';
import { EngineError, StarEngine } from '../../src/star/star-engine.ts';
import { createReader } from '../../src/star/reader.ts';
import { configOf, demoTextFiles, filesLocation, scriptedHosts } from '../support/scripted-host.ts';

const files = demoTextFiles();
const vocab = configOf(files).vocab; // the demo model's embedding rows

async function engineOnScriptedHost() {
  const { open, hosts } = scriptedHosts(files, { reply: () => 'ok', eosTokenId: 258 });
  const engine = await StarEngine.create({ model: filesLocation(files), openHost: open });
  return { engine, host: hosts[0] };
}

describe('token ids outside the vocabulary', () => {
  for (const bad of [vocab, 999_999, -1, 1.5, Number.NaN]) {
    it(`encode() refuses ${bad} before any host runs and keeps the document already encoded`, async () => {
      const { engine, host } = await engineOnScriptedHost();
      await engine.encode([1, 2, 3]);
      const calls = host.calls.length;
      await expect(engine.encode([1, bad, 3])).rejects.toThrow(
        new EngineError(
          `Token id ${bad} (index 1 of the context) is outside the model's vocabulary of ${vocab} (ids 0–${vocab - 1}): ` +
            "were the ids made by another model's tokenizer?",
        ),
      );
      expect(host.calls.length).toBe(calls);
      expect(engine.position).toBe(3);
      await engine.feed([4]);
      expect(host.kv).toEqual([1, 2, 3, 4]);
    });
  }

  it('feed() refuses them before the query host runs and keeps the position', async () => {
    const { engine, host } = await engineOnScriptedHost();
    await engine.encode([1, 2, 3]);
    await expect(engine.feed([5, vocab + 7])).rejects.toThrow(new RegExp(`Token id ${vocab + 7} \\(index 1 of the fed tokens\\) is outside`));
    expect(engine.position).toBe(3);
    expect(host.kv).toEqual([1, 2, 3]);
    expect(host.calls).toEqual(['encode']);
  });

  it('the largest id in the vocabulary is accepted', async () => {
    const { engine, host } = await engineOnScriptedHost();
    await engine.encode([0, vocab - 1]);
    await engine.feed([vocab - 1]);
    expect(host.kv).toEqual([0, vocab - 1, vocab - 1]);
  });

  it('the reader passes the refusal on for ids given as the document', async () => {
    const { open, hosts } = scriptedHosts(files, { reply: () => 'ok', eosTokenId: 258 });
    const reader = await createReader({ model: filesLocation(files), openHost: open });
    await expect(reader.loadDocument([72, 105, 999_999])).rejects.toThrow(new RegExp(`Token id 999999 .* vocabulary of ${vocab}`));
    expect(hosts[0].calls).toEqual([]);
  });
});
