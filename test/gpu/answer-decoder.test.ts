// Answers decoded on the GPU (engine.beginAnswer / step / endAnswer: the GPU sampler, greedy steps
// queued one ahead) against the CPU path (engine.feed, every logit read back, the CPU sampler): the
// same ids, and afterwards the same KV length and position, on one host and across two.
import { afterAll, describe, expect, it } from 'vitest';
import { createSampler, type SamplingOptions } from '../../src/model/sampling.ts';
import { StarEngine } from '../../src/star/star-engine.ts';
import { openLocalHost } from '../../src/star/local-host.ts';
import { fixtureLocation, loadGolden } from '../support/fixtures.ts';
import { inBrowser } from '../support/gpu.ts';

const model = 'tiny-qwen2';

async function openEngine(hosts: number): Promise<{ engine: StarEngine; query: number[] }> {
  const golden = await loadGolden(model);
  const where = fixtureLocation(model);
  const engine = await StarEngine.create({
    model: inBrowser ? { kind: 'url', base: where } : { kind: 'directory', path: where },
    ropeDType: golden.ropeDType,
    hosts,
    conversationRoom: 64,
    openHost: openLocalHost,
  });
  await engine.encode(Array.from(golden.contextIds), { attention: 'star', blockSize: 256 });
  return { engine, query: Array.from(golden.queryIds) };
}

// Both answer the way the reader does: each chosen id is fed before the next is chosen, the last one
// too (a follow-up appends after it), except when the answer ends at it (`endAt`: like an
// end-of-sequence id, chosen and not fed).

/** `count` ids the CPU way. */
async function cpuAnswer(engine: StarEngine, query: number[], sampling: SamplingOptions, count: number, endAt = Infinity): Promise<number[]> {
  const sampler = createSampler(sampling, engine.info.config.vocab);
  const seen = [...query];
  let logits = await engine.feed(query);
  const ids: number[] = [];
  while (ids.length < count) {
    const next = sampler.sample(logits, seen);
    ids.push(next);
    if (ids.length === endAt) break;
    logits = await engine.feed([next]);
    seen.push(next);
  }
  return ids;
}

async function gpuAnswer(engine: StarEngine, query: number[], sampling: SamplingOptions, count: number, endAt = Infinity): Promise<number[]> {
  await engine.beginAnswer({ sampling, vocab: engine.info.config.vocab, seen: query });
  const ids: number[] = [];
  try {
    let next = await engine.step(query);
    while (ids.length < count) {
      ids.push(next);
      if (ids.length === endAt) break;
      next = await engine.step([next]);
    }
  } finally {
    await engine.endAnswer();
  }
  return ids;
}

describe('answers decoded on the GPU', () => {
  // One engine per host count, the document encoded once: each test starts from the document's
  // checkpoint and rolls back to it (as the tests themselves do between the two paths).
  const engines = new Map<number, Promise<{ engine: StarEngine; query: number[] }>>();
  const opened = (hosts: number) => {
    if (!engines.has(hosts)) engines.set(hosts, openEngine(hosts));
    return engines.get(hosts)!;
  };
  afterAll(async () => {
    for (const open of engines.values()) await (await open).engine.dispose();
  });
  /** `test` on the document's engine of `hosts`, rolled back to the document afterwards. */
  async function fromDocument(hosts: number, test: (engine: StarEngine, query: number[]) => Promise<void>): Promise<void> {
    const { engine, query } = await opened(hosts);
    const document = await engine.checkpoint();
    try {
      await test(engine, query);
    } finally {
      await engine.rollBack(document);
    }
  }

  const cases: Array<[name: string, hosts: number, sampling: SamplingOptions]> = [
    ['greedy, 1 host', 1, { temperature: 0 }],
    ['greedy with a repetition penalty, 2 hosts', 2, { temperature: 0, repetitionPenalty: 1.3 }],
    ['sampled (Qwen settings, seed 3), 1 host', 1, { temperature: 0.7, topK: 20, topP: 0.8, repetitionPenalty: 1.05, seed: 3 }],
  ];
  for (const [name, hosts, sampling] of cases) {
    it(`${name}: the CPU path's ids, KV and position`, () =>
      fromDocument(hosts, async (engine, query) => {
        const mark = await engine.checkpoint();
        const want = await cpuAnswer(engine, query, sampling, 12);
        const after = await engine.checkpoint();
        await engine.rollBack(mark);
        const got = await gpuAnswer(engine, query, sampling, 12);
        expect(got).toEqual(want);
        expect(await engine.checkpoint()).toEqual(after);
      }));
  }

  it('an answer ended early (as at an end-of-sequence id) leaves no queued token in the KV', () =>
    fromDocument(1, async (engine, query) => {
      const mark = await engine.checkpoint();
      const full = await cpuAnswer(engine, query, { temperature: 0 }, 6);
      await engine.rollBack(mark);
      // End at the 4th id, not fed: the step queued ahead for it must be dropped.
      const got = await gpuAnswer(engine, query, { temperature: 0 }, 6, 4);
      expect(got).toEqual(full.slice(0, 4));
      expect(await engine.checkpoint()).toEqual({ position: mark.position + query.length + 3, kvRows: mark.kvRows + query.length + 3 });
      // The conversation goes on from there exactly as the CPU path would.
      await engine.rollBack(mark);
      const cpu = await cpuAnswer(engine, query, { temperature: 0 }, 6, 4);
      const cpuMark = await engine.checkpoint();
      expect(cpu).toEqual(full.slice(0, 4));
      expect(cpuMark.kvRows).toBe(mark.kvRows + query.length + 3);
    }));
});
