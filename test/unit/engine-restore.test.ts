// StarEngine.restoreDocument's checks and its all-or-nothing switch, on hosts that only record calls.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StarEngine, type HostHandle } from '../../src/star/star-engine.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { planBlocks } from '../../src/star/block-planner.ts';
import { makeManifest, type DocumentStore, type SavedManifest, type ShardRecord } from '../../src/star/document-store.ts';
import type { HostInfo } from '../../src/star/host.ts';

const config = parseModelConfig(JSON.parse(readFileSync(new URL('../../public/models/demo/config.json', import.meta.url), 'utf8')));
const info: HostInfo = {
  index: 0,
  adapter: { description: 'fake', vendor: '', architecture: '', isFallbackAdapter: false, runsOnCpu: false, subgroupSizes: { min: 0, max: 0 }, subgroupMatrixConfigs: [], features: [], limits: { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 27 } },
  config,
  weightBytes: 0,
  pieceRows: 512,
};
const store = {} as DocumentStore; // the fake hosts never open it

/** Hosts that record loadShard and finishLoad; `failing` fails its loadShard. */
function fakeHosts(failing?: number) {
  const calls: string[] = [];
  const open = async (index: number): Promise<HostHandle> => {
    const unused = () => {
      throw new Error('not used here');
    };
    return {
      info: () => ({ ...info, index }),
      async loadShard(_target, record) {
        calls.push(`load ${index} ${record.rows}`);
        if (index === failing) throw new Error(`host ${index}: disk error`);
      },
      finishLoad: (keep) => void calls.push(`finish ${index} ${keep}`),
      encode: unused,
      partialAttention: unused,
      feed: unused,
      kvLength: unused,
      truncate: unused,
      kvBytes: unused,
      saveShard: unused,
      beginAnswer: unused,
      readCitations: unused,
      step: unused,
      endAnswer: unused,
      dispose: () => {},
    };
  };
  return { calls, open };
}

function manifest(change: Partial<SavedManifest> = {}): SavedManifest {
  const plan = planBlocks(512, { hosts: 2, blockSize: 128 });
  const shards = plan.hosts.map((h) => ({ host: h.host, file: `host-${h.host}.kv`, rows: h.end - h.start }) as ShardRecord);
  return makeManifest({
    id: 'doc',
    name: 'Doc',
    savedAt: '',
    model: { source: '', modelType: 'qwen2', weightType: 'f32', files: [] },
    settings: { attention: 'star', blockSize: 128, anchorSize: 128, hosts: 2, ropeDType: 'f32', kvType: 'f16' },
    tokenIds: new Array(512).fill(1),
    plan,
    shards,
    reader: { document: '', fed: '', encoded: {} as SavedManifest['reader']['encoded'] },
    ...change,
  });
}

describe('StarEngine.restoreDocument', () => {
  it('switches every host to its shard only when all have read theirs', async () => {
    const hosts = fakeHosts();
    const engine = await StarEngine.create({ model: { kind: 'directory', path: '' }, hosts: 2, openHost: hosts.open });
    const restored = await engine.restoreDocument(store, manifest());
    expect(restored.tokens).toBe(512);
    expect(engine.position).toBe(512);
    expect(hosts.calls.sort()).toEqual(['finish 0 true', 'finish 1 true', 'load 0 256', 'load 1 256']);
  });

  it('one host failing drops every staged shard and leaves the engine as it was', async () => {
    const hosts = fakeHosts(1);
    const engine = await StarEngine.create({ model: { kind: 'directory', path: '' }, hosts: 2, openHost: hosts.open });
    await expect(engine.restoreDocument(store, manifest())).rejects.toThrow(/host 1: disk error/);
    expect(hosts.calls.filter((c) => c.startsWith('finish')).sort()).toEqual(['finish 0 false', 'finish 1 false']);
    await expect(engine.feed([1])).rejects.toThrow(/No document encoded/);
  });

  it('refuses, before any host reads, another weight type, RoPE dtype or KV type, a damaged plan, or too few hosts', async () => {
    const hosts = fakeHosts();
    const engine = await StarEngine.create({ model: { kind: 'directory', path: '' }, hosts: 2, openHost: hosts.open });
    const m = manifest();
    await expect(engine.restoreDocument(store, { ...m, model: { ...m.model, weightType: 'f16' } })).rejects.toThrow(
      /encoded with f16 weights, f32 RoPE and an f16 KV cache; this engine runs f32 weights, f32 RoPE and an f16 KV cache/,
    );
    await expect(engine.restoreDocument(store, { ...m, settings: { ...m.settings, kvType: 'f32' } })).rejects.toThrow(/an f32 KV cache; .* and an f16 KV cache/);
    await expect(engine.restoreDocument(store, { ...m, settings: { ...m.settings, ropeDType: 'bf16' } })).rejects.toThrow(/bf16 RoPE/);
    await expect(engine.restoreDocument(store, { ...m, plan: { ...m.plan, queryHost: 0 } })).rejects.toThrow(/corrupted block plan/);
    await expect(engine.restoreDocument(store, { ...m, shards: m.shards.slice(1) })).rejects.toThrow(/no shard for host 0/);
    await expect(engine.restoreDocument(store, { ...m, settings: { ...m.settings, hosts: 3 } })).rejects.toThrow(/read over 3 hosts; 2 are loaded/);
    expect(hosts.calls).toEqual([]);
  });
});
