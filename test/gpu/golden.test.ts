// The engine against transformers (test/fixtures/hf-golden): full attention and Star Attention phase 1
// with blocks of 128 and 256 (last block partial), then the query and 8 greedy tokens, on 1, 2 and 3
// hosts. Node runs every model with in-process hosts (one Dawn device each); Chromium runs one model
// with two hosts in real Workers: full attention, Star Attention b=128 over both hosts and the f16
// cache there (the browser build, the Workers and the hosts' merge); the other configurations compute
// the same numbers with the same kernels, checked in Node (in Chromium they were a minute of SwiftShader).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StarEngine, type HostFactory } from '../../src/star/star-engine.ts';
import { openLocalHost } from '../../src/star/local-host.ts';
import { openWorkerHost } from '../../src/star/worker-host.ts';
import { fixtureModels, loadGolden, type FixtureModel, type Golden } from '../support/fixtures.ts';
import { maxAbsDiff } from '../support/random.ts';
import { inBrowser } from '../support/gpu.ts';
import { expectF16KvMatches, expectLast16Matches, expectMatches, fixtureModelSource, kvF16Tolerance, scoreQuery } from '../support/golden-checks.ts';

interface Case {
  model: FixtureModel;
  hosts: number[];
  openHost: HostFactory;
  where: string;
  maxKvChunkBytes?: number;
  maxRows?: number;
}

const cases: Case[] = inBrowser
  ? [{ model: 'tiny-qwen3', hosts: [2], openHost: openWorkerHost, where: 'hosts in Workers' }]
  : [
      ...fixtureModels.map((model) => ({ model, hosts: [1, 2, 3], openHost: openLocalHost, where: 'in-process hosts' })),
      { model: 'tiny-llama3', hosts: [2], openHost: await threadHostFactory(), where: 'hosts in worker_threads' },
      // 128 tokens of KV per chunk (2 KV heads × 16 dims × 4 bytes × 128): a cache spread over many
      // chunks, as on a device whose storage bindings are too small for the whole cache.
      { model: 'tiny-llama3', hosts: [1], openHost: openLocalHost, where: 'KV in 128-token chunks', maxKvChunkBytes: 128 * 128 },
      // Forward pieces of 96 rows, shorter than a block: blocks are encoded in parts (the first over
      // the block-anchor kernel, the rest over the anchor and the block so far, merged).
      { model: 'tiny-qwen3', hosts: [2], openHost: openLocalHost, where: 'pieces of 96 rows', maxRows: 96 },
    ];

/** Node only: the module imports node:worker_threads. */
async function threadHostFactory(): Promise<HostFactory> {
  return (await import('../../src/star/thread-host.ts')).openThreadHost;
}

for (const { model, hosts, openHost, where, maxKvChunkBytes, maxRows } of cases) {
  describe(`${model} against transformers, ${where}`, () => {
    let engine: StarEngine;
    let golden: Golden;

    beforeAll(async () => {
      golden = await loadGolden(model);
      engine = await StarEngine.create({
        model: fixtureModelSource(model),
        hosts: Math.max(...hosts),
        ropeDType: golden.ropeDType,
        // transformers' own cache is f32 here: the exact path (the f16 cache has its own tests below).
        kvType: 'f32',
        conversationRoom: 64,
        maxKvChunkBytes,
        maxRows,
        openHost,
      });
    });
    afterAll(async () => engine?.dispose());

    it('full attention: query logits, greedy ids', async () => {
      await engine.encode(Array.from(golden.contextIds), { attention: 'full' });
      expectMatches(await scoreQuery(engine, golden), golden.full, `${model} full`);
    });

    // Node only (defined there, not skipped in Chromium): see the top of the file.
    // The context but its last 4 tokens from the cache, then those 4 and the query in one forward.
    if (!inBrowser) it('full attention: logits of the last 16 positions of context + query', () => expectLast16Matches(engine, golden, model));

    if (!inBrowser) it('Star Attention with one block (b ≥ n) is full attention', async () => {
      const stats = await engine.encode(Array.from(golden.contextIds), { attention: 'star', blockSize: 1024, hosts: 1 });
      expect(stats.blocks).toBe(1);
      expectMatches(await scoreQuery(engine, golden), golden.full, `${model} star b=1024 (one block)`);
    });

    for (const blockSize of inBrowser ? [128] : [128, 256]) {
      for (const hostCount of hosts) {
        it(`Star Attention b=${blockSize} on ${hostCount} host(s)`, async () => {
          const stats = await engine.encode(Array.from(golden.contextIds), { attention: 'star', blockSize, hosts: hostCount });
          expect(stats.blocks).toBe(Math.ceil(golden.contextIds.length / blockSize));
          expect(stats.hosts).toBe(hostCount);
          expect(stats.kvBytesPerHost).toHaveLength(hostCount);
          expectMatches(await scoreQuery(engine, golden), golden.star.get(blockSize)!, `${model} star b=${blockSize} hosts=${hostCount}`);
        });
      }
    }
  });
}

// f16 weights (lavapipe has shader-f16; SwiftShader has none): weights rounded to f16, compute in f32.
// Measured against transformers: the bf16 and f16 checkpoints convert to f16 exactly (max |diff| as
// with f32, ≤ 6e-6); the f32 checkpoint (qwen3) moves logits by up to 5.7e-3. Tolerance of the f16
// path: 2e-2 on logits of magnitude up to ~5.
// Node only: defined there, not skipped in Chromium (whose f16 absence linear.test.ts checks).
const f16Tolerance = 2e-2;
if (!inBrowser) describe('f16 weights against transformers', () => {
  for (const model of fixtureModels) {
    it(`${model}: full and star b=128 within ${f16Tolerance}`, async () => {
      const golden = await loadGolden(model);
      const engine = await StarEngine.create({
        model: fixtureModelSource(model),
        weightType: 'f16',
        kvType: 'f32',
        ropeDType: golden.ropeDType,
        conversationRoom: 64,
        openHost: openLocalHost,
      });
      try {
        for (const [mode, want] of [['full', golden.full], ['star', golden.star.get(128)!]] as const) {
          await engine.encode(Array.from(golden.contextIds), { attention: mode, blockSize: 128 });
          const got = await scoreQuery(engine, golden);
          const diff = maxAbsDiff(got.queryLogits, want.queryLogits);
          console.log(`${model} ${mode} f16 weights: max |logit diff| ${diff.toExponential(2)}`);
          expect(diff).toBeLessThan(f16Tolerance);
        }
      } finally {
        await engine.dispose();
      }
    });
  }
});

describe('f16 KV cache against transformers', () => {
  for (const model of inBrowser ? (['tiny-qwen3'] as const) : fixtureModels) {
    it(`${model}: ${inBrowser ? '' : 'full, and '}star b=128 on 2 hosts, within ${kvF16Tolerance}, greedy ids identical`, () =>
      expectF16KvMatches(model, inBrowser ? openWorkerHost : openLocalHost, inBrowser ? ['star'] : ['full', 'star']));
  }
});
