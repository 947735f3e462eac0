// What the engine does when things go wrong: a host whose device is lost (in phase 1 or phase 2) or
// whose thread dies, a cancelled encode, a document longer than the model's window. Each must give
// a clear error naming what failed and leave the engine able to go on.
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { StarEngine, type HostFactory } from '../../src/star/star-engine.ts';
import { Host } from '../../src/star/host.ts';
import { openLocalHost } from '../../src/star/local-host.ts';
import { threadHostFactory } from '../../src/star/thread-host.ts';
import { fixtureLocation } from '../support/fixtures.ts';

const model = { kind: 'directory', path: fixtureLocation('tiny-qwen2') } as const;
const context = Array.from({ length: 600 }, (_, i) => ((i * 37) % 990) + 3);

let engine: StarEngine | undefined;
afterEach(async () => {
  await engine?.dispose();
  engine = undefined;
});

/** In-process hosts, keeping each Host so a test can take its device away. */
function capturingFactory(hosts: Host[]): HostFactory {
  return async (index, request) => {
    const host = await Host.open(index, request);
    hosts[index] = host;
    return host;
  };
}

/** Thread hosts, keeping each Worker so a test can kill it. */
function killableThreadFactory(workers: Worker[]): HostFactory {
  return threadHostFactory((index, worker) => (workers[index] = worker));
}

describe('engine failures', () => {
  it('a document longer than the context window is refused with the numbers', async () => {
    engine = await StarEngine.create({ model, openHost: openLocalHost });
    const tooLong = new Array(32768).fill(5);
    await expect(engine.encode(tooLong)).rejects.toThrow(/32768 tokens.*context window is 32768.*shorten it by at least 1 token/);
  });

  it('a document whose KV cache exceeds the memory budget is refused with the numbers', async () => {
    engine = await StarEngine.create({ model, openHost: openLocalHost, deviceMemoryBudget: 2_500_000, conversationRoom: 64 });
    await expect(engine.encode(new Array(20000).fill(5))).rejects.toThrow(/needs .* MB .* the memory budget is 2.5 MB: the largest context that fits is \d+ tokens/);
    const stats = await engine.encode(context);
    expect(stats.tokens).toBe(600);
  });

  it('a model that does not fit the memory budget is refused before loading, with the numbers', async () => {
    await expect(StarEngine.create({ model, openHost: openLocalHost, deviceMemoryBudget: 500_000 })).rejects.toThrow(
      /does not fit: needs .* MB .* but the memory budget is 0.5 MB/,
    );
  });

  it('cancelling mid-encode leaves the engine usable', async () => {
    engine = await StarEngine.create({ model, openHost: openLocalHost, maxRows: 128 });
    const controller = new AbortController();
    const encoding = engine.encode(context, {
      blockSize: 128,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.tokensDone >= 128) controller.abort();
      },
    });
    await expect(encoding).rejects.toThrow(/abort/i);
    await expect(engine.feed([5])).rejects.toThrow(/No document encoded/);
    const stats = await engine.encode(context, { blockSize: 128 });
    expect(stats.tokens).toBe(600);
    expect((await engine.feed([5, 6])).length).toBe(1000);
  });

  it('a host whose GPU device is lost fails phase 2 with an error naming it; reloading recovers', async () => {
    const hosts: Host[] = [];
    engine = await StarEngine.create({ model, hosts: 2, openHost: capturingFactory(hosts) });
    await engine.encode(context, { blockSize: 128 });
    hosts[0]['gpu'].device.destroy();
    await expect(engine.feed([5, 6, 7])).rejects.toThrow(/Host 0: GPU device lost/);
    await expect(engine.feed([5, 6, 7])).rejects.toMatchObject({ host: 0, kind: 'device-lost' });
    await expect(engine.encode(context, { blockSize: 128 })).rejects.toThrow(/Host 0: GPU device lost/);
    // Reloading gives a working engine again.
    await engine.dispose();
    engine = await StarEngine.create({ model, hosts: 2, openHost: openLocalHost });
    await engine.encode(context, { blockSize: 128 });
    expect((await engine.feed([5, 6, 7])).length).toBe(1000);
  });

  it('a host whose device is lost during phase 1 fails the encode with an error naming it', async () => {
    const hosts: Host[] = [];
    engine = await StarEngine.create({ model, hosts: 2, openHost: capturingFactory(hosts), maxRows: 128 });
    let lost = false;
    const encoding = engine.encode(context, {
      blockSize: 128,
      onProgress: (p) => {
        if (!lost && p.tokensDone > 0) {
          lost = true;
          hosts[1]['gpu'].device.destroy();
        }
      },
    });
    await expect(encoding).rejects.toThrow(/Host 1: GPU device (lost|destroyed)/);
  });

  // A thread is killed only while idle: terminating a Node worker_thread while Dawn works inside it
  // aborts the whole process (Dawn's teardown), which no error handling can catch.
  it('a host thread that dies between questions fails phase 2 with an error naming it', async () => {
    const workers: Worker[] = [];
    engine = await StarEngine.create({ model, hosts: 2, openHost: killableThreadFactory(workers) });
    await engine.encode(context, { blockSize: 128 });
    expect((await engine.feed([5])).length).toBe(1000);
    await workers[0].terminate();
    const failure = engine.feed([6]);
    await expect(failure).rejects.toThrow(/Host 0: its worker stopped/);
    await expect(failure).rejects.toMatchObject({ name: 'HostError', host: 0, kind: 'crashed' });
  });

  it('an error inside a host thread reaches the main thread as a HostError with its host and kind', async () => {
    const workers: Worker[] = [];
    const host = await killableThreadFactory(workers)(0, { model });
    try {
      const failure = host.feed([5], 0, 'last');
      await expect(failure).rejects.toThrow('Host 0: no document encoded yet');
      await expect(failure).rejects.toMatchObject({ name: 'HostError', host: 0, kind: 'failed' });
    } finally {
      await host.dispose();
    }
  });

  it('hosts pick their adapter by name; an adapter that is not there is named in the error', async () => {
    engine = await StarEngine.create({ model, hosts: 2, adapters: [{ name: 'llvmpipe' }], openHost: openLocalHost });
    expect(engine.info.adapter.description).toMatch(/llvmpipe/);
    await engine.encode(context, { blockSize: 128 });
    expect((await engine.feed([5])).length).toBe(1000);
    await expect(StarEngine.create({ model, adapters: [{ name: 'no-such-gpu' }], openHost: openLocalHost })).rejects.toThrow(
      /No WebGPU adapter named like "no-such-gpu"/,
    );
  });
});
