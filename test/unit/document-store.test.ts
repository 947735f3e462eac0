// The saved-document format's pure parts: CRC-32, regrouping pieces, manifest parsing, compatibility.
import { describe, expect, it } from 'vitest';
import {
  checkId,
  crc32,
  incompatibility,
  inPieces,
  makeManifest,
  parseManifest,
  type ModelIdentity,
  type SavedManifest,
} from '../../src/star/document-store.ts';
import { planBlocks } from '../../src/star/block-planner.ts';

const model: ModelIdentity = {
  source: '/models/demo',
  modelType: 'qwen2',
  weightType: 'f32',
  files: [{ path: 'config.json', bytes: 559, sha256: 'a'.repeat(64), sampled: false }],
};

function manifest(): SavedManifest {
  const plan = planBlocks(4, { hosts: 1, blockSize: 2 });
  return makeManifest({
    id: 'doc-1',
    name: 'Doc',
    savedAt: '2026-12-01T00:00:00.000Z',
    model,
    settings: { attention: 'star', blockSize: 2, anchorSize: 2, hosts: 1, ropeDType: 'f32', kvType: 'f32' },
    tokenIds: [1, 2, 3, 4],
    plan,
    shards: [],
    reader: { document: 'abcd', fed: 'abcd', encoded: {} as SavedManifest['reader']['encoded'] },
  });
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<number[][]> {
  const out: number[][] = [];
  for await (const piece of source) out.push([...piece]);
  return out;
}

describe('saved document format', () => {
  it('computes zlib’s CRC-32, on the four-byte path and the byte tail alike', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(new TextEncoder().encode('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });

  it('regroups pieces of any size into pieces of exactly the given size', async () => {
    async function* source() {
      yield Uint8Array.of(1, 2, 3);
      yield Uint8Array.of(4);
      yield Uint8Array.of(5, 6, 7, 8, 9);
    }
    expect(await collect(inPieces(source(), 4))).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9]]);
  });

  it('parses its own manifest and names what is wrong with a damaged one', () => {
    const m = manifest();
    expect(parseManifest(JSON.stringify(m), 'doc-1')).toEqual(m);
    expect(() => parseManifest(JSON.stringify(m).slice(0, 40), 'doc-1')).toThrow(/doc-1" has a corrupted manifest/);
    expect(() => parseManifest(JSON.stringify({ ...m, version: 9 }), 'doc-1')).toThrow(/format version 9/);
    expect(() => parseManifest(JSON.stringify({ ...m, tokenIds: [1] }), 'doc-1')).toThrow(/1 token ids for a plan of 4/);
    expect(() => parseManifest(JSON.stringify({ ...m, id: 'other' }), 'doc-1')).toThrow(/fields are missing/);
    expect(() => parseManifest('{"format":"zip"}', 'doc-1')).toThrow(/not a Star Reader saved document/);
    // Saved before the KV cache had a type to choose: it was f32.
    const older = JSON.parse(JSON.stringify(m));
    delete older.settings.kvType;
    expect(parseManifest(JSON.stringify(older), 'doc-1').settings.kvType).toBe('f32');
  });

  it('accepts the same model and settings, and lists every difference otherwise', () => {
    const m = manifest();
    expect(incompatibility(m, { ...model, source: '/moved/demo' }, { attention: 'star', hosts: 1 })).toBeUndefined();
    const other = { ...model, weightType: 'f16' as const, files: [{ ...model.files[0], bytes: 560 }] };
    const reason = incompatibility(m, other, { blockSize: 4 });
    expect(reason).toMatch(/encoded with f32 weights, the model is loaded with f16/);
    expect(reason).toMatch(/another model \(\/models\/demo; config\.json differ\)/);
    expect(reason).toMatch(/blockSize 2, the reader asks for 4/);
    expect(incompatibility(m, model, { kvType: 'f16' })).toMatch(/read with kvType f32, the reader asks for f16/);
    // Full attention has no blocks: a block size setting does not refuse it.
    const full = { ...m, settings: { ...m.settings, attention: 'full' as const } };
    expect(incompatibility(full, model, { blockSize: 4, hosts: 2 })).toBeUndefined();
  });

  it('refuses ids that could leave the store', () => {
    expect(checkId('20261201-abc_1')).toBe('20261201-abc_1');
    for (const bad of ['../x', 'a/b', '', '.']) expect(() => checkId(bad)).toThrow(/not a saved document id/);
  });
});
