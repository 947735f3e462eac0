import { describe, expect, it } from 'vitest';
import { readSafetensorsHeader, readTensorIndex, SafetensorsError, toFloat32 } from '../../src/model/safetensors.ts';
import { memorySource } from '../support/fixtures.ts';

/** A safetensors file from a header object and a data section of `dataBytes` bytes (value i at byte i). */
function file(header: unknown, dataBytes: number, headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  for (let i = 0; i < dataBytes; i++) out[8 + json.length + i] = i & 0xff;
  return out;
}

const good = {
  __metadata__: { format: 'pt' },
  'a.weight': { dtype: 'BF16', shape: [2, 3], data_offsets: [0, 12] },
  'b.bias': { dtype: 'F32', shape: [2], data_offsets: [12, 20] },
  'c.ids': { dtype: 'I64', shape: [1], data_offsets: [20, 28] },
};

async function header(bytes: Uint8Array) {
  return readSafetensorsHeader(memorySource({ 'm.safetensors': bytes }), 'm.safetensors');
}

async function fails(bytes: Uint8Array): Promise<string> {
  const error = await header(bytes).then(
    () => expect.unreachable('parsed'),
    (e: unknown) => e as Error,
  );
  expect(error).toBeInstanceOf(SafetensorsError);
  return error.message;
}

describe('readSafetensorsHeader', () => {
  it('gives each tensor its dtype, shape and absolute byte range', async () => {
    const bytes = file(good, 28);
    const dataStart = bytes.length - 28;
    const { tensors, metadata } = await header(bytes);
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.keys()]).toEqual(['a.weight', 'b.bias', 'c.ids']);
    expect(tensors.get('b.bias')).toEqual({ name: 'b.bias', file: 'm.safetensors', dtype: 'F32', shape: [2], begin: dataStart + 12, end: dataStart + 20 });
    expect(tensors.get('c.ids')?.dtype).toBe('I64'); // known; loadWeights refuses it if a weight has it
  });

  it('a scalar and an empty tensor are fine', async () => {
    const { tensors } = await header(file({ s: { dtype: 'F32', shape: [], data_offsets: [0, 4] }, e: { dtype: 'F16', shape: [0, 5], data_offsets: [4, 4] } }, 4));
    expect(tensors.get('s')?.shape).toEqual([]);
    expect(tensors.get('e')!.end - tensors.get('e')!.begin).toBe(0);
  });

  it('refuses damaged files with a message saying what is wrong', async () => {
    expect(await fails(new Uint8Array(5))).toBe('m.safetensors: 5 bytes is too short for a safetensors file (8-byte header length missing)');
    expect(await fails(file(good, 28, 5000))).toMatch(/^m\.safetensors: header length 5000 runs past the end of the file \(\d+ bytes\)/);
    expect(await fails(file(good, 28, 2 ** 53))).toMatch(/header length 9007199254740992 is absurd \(limit 100000000 bytes\)/);
    expect(await fails(file('{"a": ', 0))).toMatch(/^m\.safetensors: header is not valid JSON \(/);
    expect(await fails(file('[1, 2]', 0))).toBe('m.safetensors: header is not a JSON object');
    const bad = (entry: unknown, dataBytes = 28) => fails(file({ ...good, x: entry }, dataBytes));
    expect(await bad({ dtype: 'F128', shape: [1], data_offsets: [0, 16] })).toBe('m.safetensors: tensor "x" has unknown dtype "F128"');
    expect(await bad({ dtype: 'F32', shape: [-1], data_offsets: [0, 4] })).toBe('m.safetensors: tensor "x" has an invalid shape [-1]');
    expect(await bad({ dtype: 'F32', shape: [1], data_offsets: [8, 4] })).toBe('m.safetensors: tensor "x" has invalid data_offsets [8,4]');
    expect(await bad({ dtype: 'F32', shape: [2, 2], data_offsets: [28, 40] })).toBe(
      'm.safetensors: tensor "x" (F32 [2, 2]) should take 16 bytes but its data_offsets [28, 40] span 12',
    );
    expect(await bad({ dtype: 'F32', shape: [1], data_offsets: [16, 20] })).toBe('m.safetensors: tensors "b.bias" and "x" overlap in the file');
    // Found by test/unit/parsers.property.test.ts: inherited keys were taken for dtypes ("should take
    // NaN bytes"), entries that are no objects had "unknown dtype undefined", metadata went unchecked.
    expect(await bad({ dtype: 'constructor', shape: [1], data_offsets: [28, 32] })).toBe('m.safetensors: tensor "x" has unknown dtype "constructor"');
    expect(await bad(null)).toBe('m.safetensors: tensor "x" is null, not an object {dtype, shape, data_offsets}');
    expect(await bad({ shape: [1], data_offsets: [28, 32] })).toBe('m.safetensors: tensor "x" has no dtype');
    expect(await fails(file({ ...good, __metadata__: { format: 5 } }, 28))).toBe('m.safetensors: __metadata__ must map names to strings, got {"format":5}');
    const truncated = await bad({ dtype: 'F32', shape: [4], data_offsets: [28, 44] }, 40);
    expect(truncated).toMatch(/^m\.safetensors: tensor "x" data ends at byte \d+, past the end of the file \(\d+ bytes\): the file is truncated$/);
  });
});

describe('readTensorIndex', () => {
  const shard = (names: string[]) => file(Object.fromEntries(names.map((n, i) => [n, { dtype: 'F32', shape: [1], data_offsets: [4 * i, 4 * i + 4] }])), 4 * names.length);

  it('reads model.safetensors when there is no index', async () => {
    expect([...(await readTensorIndex(memorySource({ 'model.safetensors': shard(['w']) }))).keys()]).toEqual(['w']);
  });

  it('reads every shard the index names, each tensor from its own file', async () => {
    const tensors = await readTensorIndex(
      memorySource({
        'model.safetensors.index.json': JSON.stringify({ metadata: { total_size: 12 }, weight_map: { a: 'one.safetensors', b: 'one.safetensors', c: 'two.safetensors' } }),
        'one.safetensors': shard(['a', 'b']),
        'two.safetensors': shard(['c', 'stray']),
      }),
    );
    expect([...tensors.values()].map((t) => `${t.name}@${t.file}`)).toEqual(['a@one.safetensors', 'b@one.safetensors', 'c@two.safetensors']);
  });

  it('says which tensor an index lists that its shard lacks, and refuses bad indexes', async () => {
    const index = (weightMap: unknown) => JSON.stringify({ weight_map: weightMap });
    await expect(readTensorIndex(memorySource({ 'model.safetensors.index.json': index({ a: 'one.safetensors', z: 'one.safetensors' }), 'one.safetensors': shard(['a']) }))).rejects.toThrow(
      'one.safetensors: has no tensor "z" although model.safetensors.index.json lists it there',
    );
    await expect(readTensorIndex(memorySource({ 'model.safetensors.index.json': '{}' }))).rejects.toThrow('model.safetensors.index.json: has no "weight_map" object');
    await expect(readTensorIndex(memorySource({ 'model.safetensors.index.json': index({ a: '../secret' }) }))).rejects.toThrow(
      'model.safetensors.index.json: weight_map names an invalid file "../secret"',
    );
  });
});

describe('toFloat32', () => {
  it('widens bf16 and f16 exactly and reads f32, at any byte offset', () => {
    const raw = new Uint8Array(1 + 8);
    new DataView(raw.buffer).setUint16(1, 0x3fc0, true); // bf16 1.5
    new DataView(raw.buffer).setUint16(3, 0xc2f7, true); // bf16 -123.5
    expect([...toFloat32(raw.subarray(1, 5), 'BF16')]).toEqual([1.5, -123.5]);
    new DataView(raw.buffer).setUint16(1, 0x3c00, true); // f16 1
    new DataView(raw.buffer).setUint16(3, 0x0001, true); // smallest f16 subnormal
    expect([...toFloat32(raw.subarray(1, 5), 'F16')]).toEqual([1, 2 ** -24]);
    new DataView(raw.buffer).setFloat32(1, 0.1, true);
    new DataView(raw.buffer).setFloat32(5, -7, true);
    expect([...toFloat32(raw.subarray(1, 9), 'F32')]).toEqual([Math.fround(0.1), -7]);
  });
});
