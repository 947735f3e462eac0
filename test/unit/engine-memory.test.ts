// The engine's memory check before a document is encoded counts the prefill scratch of the pieces
// its hosts actually take (HostInfo.pieceRows), not a size of its own.
import { describe, expect, it } from 'vitest';
import { StarEngine } from '../../src/star/star-engine.ts';
import { planMemory } from '../../src/model/memory-plan.ts';
import { configOf, demoTextFiles, filesLocation, scriptedHosts } from '../support/scripted-host.ts';

const files = demoTextFiles();
const config = configOf(files);
const ids = Array.from({ length: 2000 }, (_, i) => i % 200);

describe('the memory check of an encode', () => {
  it("counts the hosts' own piece rows", async () => {
    // The scripted hosts' limits, the engine's defaults (f32 weights, f16 KV, 1,024 tokens of room).
    const limits = { maxBufferSize: 2 ** 31, maxStorageBufferBindingSize: 2 ** 31 };
    const plan = (prefillRows: number) => planMemory(config, { contextTokens: ids.length, conversationTokens: 1024, weightType: 'f32', kvType: 'f16', limits, prefillRows });
    // A budget that holds the document with pieces of 512 rows, not of 2,048.
    const budget = plan(512).totalBytes;
    expect(plan(2048).totalBytes).toBeGreaterThan(budget);
    const encode = async (pieceRows: number) => {
      const { open } = scriptedHosts(files, { reply: () => 'ok', eosTokenId: 258 }, pieceRows);
      const engine = await StarEngine.create({ model: filesLocation(files), openHost: open, deviceMemoryBudget: budget });
      return engine.encode(ids);
    };
    await expect(encode(512)).resolves.toBeDefined();
    await expect(encode(2048)).rejects.toThrow(/prefill scratch/);
  });
});
