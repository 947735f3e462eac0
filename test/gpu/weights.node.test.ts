// Node only (a writable folder and the Node directory source): broken model folders give specific
// errors, and loadWeights never leaves GPU buffers behind, whether it fails before or while uploading.
import { mkdtemp, readFile, rm, truncate, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { parseModelConfig, ModelConfigError } from '../../src/model/config.ts';
import { SafetensorsError } from '../../src/model/safetensors.ts';
import { openDirectorySource } from '../../src/model/source/directory-source.node.ts';
import type { ModelFiles } from '../../src/model/source/model-files.ts';
import { loadWeights, ModelWeightsError, type LoadWeightsOptions } from '../../src/model/weights.ts';
import { fixtureConfig, fixtureLocation, fixtureWeights, type FixtureModel } from '../support/fixtures.ts';
import { testGpu } from '../support/gpu.ts';
import { maxAbsDiff } from '../support/random.ts';

const temp = await mkdtemp(join(tmpdir(), 'star-reader-weights-'));
afterAll(() => rm(temp, { recursive: true, force: true }));

let copies = 0;
/** A writable copy of a fixture's config.json and model.safetensors. */
async function copyFixture(model: FixtureModel): Promise<string> {
  const dir = join(temp, `${model}-${copies++}`);
  await cp(fixtureLocation(model), dir, { recursive: true });
  return dir;
}

/** The GPU with buffer creation counted: how many were made, and which are not destroyed yet. */
function trackBuffers(gpu: Gpu): { gpu: Gpu; created: () => number; live: Set<GPUBuffer> } {
  const live = new Set<GPUBuffer>();
  let created = 0;
  const buffer = (bytes: number, label?: string, extraUsage?: number) => {
    const b = gpu.buffer(bytes, label, extraUsage);
    created++;
    live.add(b);
    const destroy = b.destroy.bind(b);
    b.destroy = () => {
      live.delete(b);
      destroy();
    };
    return b;
  };
  return { gpu: Object.create(gpu, { buffer: { value: buffer } }) as Gpu, created: () => created, live };
}

/** Loads `dir` on a tracked GPU; returns the error it failed with and the buffer counts. */
async function loadFails(dir: string | ModelFiles, options: LoadWeightsOptions = {}) {
  const tracked = trackBuffers(await testGpu());
  const source = typeof dir === 'string' ? openDirectorySource(dir) : dir;
  const config = parseModelConfig(await source.readJson('config.json'));
  const error = await loadWeights(tracked.gpu, source, config, options).then(
    () => expect.unreachable('loadWeights succeeded'),
    (e: unknown) => e as Error,
  );
  return { error, created: tracked.created(), live: tracked.live.size };
}

/** Replaces `from` by `to` (same length) inside the safetensors header of dir/model.safetensors. */
async function editHeader(dir: string, from: string, to: string): Promise<void> {
  expect(to.length).toBe(from.length);
  const path = join(dir, 'model.safetensors');
  const bytes = await readFile(path);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = bytes.subarray(8, 8 + length).toString('latin1');
  expect(header).toContain(from);
  bytes.write(header.replace(from, to), 8, 'latin1');
  await writeFile(path, bytes);
}

async function editConfig(dir: string, edit: (config: Record<string, unknown>) => void): Promise<void> {
  const path = join(dir, 'config.json');
  const config = JSON.parse(await readFile(path, 'utf8'));
  edit(config);
  await writeFile(path, JSON.stringify(config));
}

describe('broken model folders', () => {
  it('a truncated file', async () => {
    const dir = await copyFixture('tiny-llama3');
    await truncate(join(dir, 'model.safetensors'), 393040 - 100);
    const { error, created, live } = await loadFails(dir);
    expect(error).toBeInstanceOf(SafetensorsError);
    expect(error.message).toMatch(/model\.safetensors: tensor "model\.norm\.weight" data ends at byte 393040, past the end of the file \(392940 bytes\): the file is truncated/);
    expect([created, live]).toEqual([0, 0]);
  });

  it('a header length past the end of the file', async () => {
    const dir = await copyFixture('tiny-llama3');
    await truncate(join(dir, 'model.safetensors'), 2000);
    const { error, live } = await loadFails(dir);
    expect(error.message).toMatch(/header length 3016 runs past the end of the file \(2000 bytes\)/);
    expect(live).toBe(0);
  });

  it('an absurd header length, and a header that is not JSON', async () => {
    const dir = await copyFixture('tiny-qwen2');
    const path = join(dir, 'model.safetensors');
    const bytes = await readFile(path);
    bytes.writeBigUInt64LE(1n << 40n, 0);
    await writeFile(path, bytes);
    expect((await loadFails(dir)).error.message).toMatch(/header length 1099511627776 is absurd/);
    bytes.writeBigUInt64LE(2656n, 0);
    bytes[8] = 0x5b; // '[' for '{'
    await writeFile(path, bytes);
    expect((await loadFails(dir)).error.message).toMatch(/model\.safetensors: header is not valid JSON/);
  });

  it('an unknown dtype, and a known but unsupported one', async () => {
    const dir = await copyFixture('tiny-qwen3');
    await editHeader(dir, '"model.norm.weight":{"dtype":"F32"', '"model.norm.weight":{"dtype":"Q32"');
    let { error, live } = await loadFails(dir);
    expect(error).toBeInstanceOf(SafetensorsError);
    expect(error.message).toMatch(/tensor "model\.norm\.weight" has unknown dtype "Q32"/);
    expect(live).toBe(0);
    await editHeader(dir, '"dtype":"Q32"', '"dtype":"I32"');
    ({ error, live } = await loadFails(dir));
    expect(error).toBeInstanceOf(ModelWeightsError);
    expect(error.message).toMatch(/Tensor "model\.norm\.weight" in model\.safetensors is I32, which is not supported \(weights must be F32, F16, BF16/);
    expect(live).toBe(0);
  });

  it('a missing tensor', async () => {
    const dir = await copyFixture('tiny-qwen2');
    await editHeader(dir, 'model.layers.1.self_attn.v_proj.bias', 'model.layers.1.self_attn.v_proj.bia_');
    const { error, created } = await loadFails(dir);
    expect(error.message).toBe(`Tensor "model.layers.1.self_attn.v_proj.bias" is missing from ${dir}`);
    expect(created).toBe(0);
  });

  it('an untied model without lm_head.weight', async () => {
    const dir = await copyFixture('tiny-llama3');
    await editConfig(dir, (c) => (c.tie_word_embeddings = false));
    expect((await loadFails(dir)).error.message).toMatch(/Tensor "lm_head\.weight" is missing .*tie_word_embeddings: false/);
  });

  it('a tensor whose shape does not match config.json', async () => {
    const dir = await copyFixture('tiny-llama3');
    await editConfig(dir, (c) => (c.intermediate_size = 128));
    const { error, created } = await loadFails(dir);
    expect(error.message).toBe(
      'Tensor "model.layers.0.mlp.gate_proj.weight" in model.safetensors has shape [160, 64] but config.json implies [128, 64]',
    );
    expect(created).toBe(0);
  });

  it('an unknown model_type', async () => {
    const dir = await copyFixture('tiny-qwen3');
    await editConfig(dir, (c) => (c.model_type = 'gpt2'));
    const source = openDirectorySource(dir);
    const parse = async () => parseModelConfig(await source.readJson('config.json'));
    await expect(parse()).rejects.toBeInstanceOf(ModelConfigError);
    await expect(parse()).rejects.toThrow('config.json: model_type "gpt2" is not supported (supported: llama, mistral, qwen2, qwen3, phi3, smollm3, gemma2, gemma3_text)');
  });

  it('no model.safetensors at all', async () => {
    const dir = await copyFixture('tiny-qwen3');
    await rm(join(dir, 'model.safetensors'));
    expect((await loadFails(dir)).error.message).toBe(`No file "model.safetensors" in ${dir}`);
  });
});

describe('failures while uploading destroy every buffer already created', () => {
  it('a read error in the middle of the model', async () => {
    const dir = await copyFixture('tiny-llama3');
    const source = openDirectorySource(dir);
    let reads = 0;
    const failing: ModelFiles = {
      ...source,
      read: (path, offset, length) => (++reads === 20 ? Promise.reject(new Error('disk on fire')) : source.read(path, offset, length)),
    };
    const { error, created, live } = await loadFails(failing);
    expect(error.message).toBe('disk on fire');
    expect(created).toBeGreaterThan(5);
    expect(live).toBe(0);
  });

  it('cancelling through the abort signal', async () => {
    const controller = new AbortController();
    const { error, created, live } = await loadFails(await copyFixture('tiny-qwen3'), {
      signal: controller.signal,
      onProgress: (p) => p.tensor.startsWith('model.layers.1.') && controller.abort(),
    });
    expect(error.name).toBe('AbortError');
    expect(created).toBeGreaterThan(10);
    expect(live).toBe(0);
  });

  it('an f32 value beyond the f16 range when loading as f16 (16-bit files keep their own type)', async () => {
    const dir = await copyFixture('tiny-qwen3');
    const path = join(dir, 'model.safetensors');
    const bytes = await readFile(path);
    const length = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + length).toString());
    bytes.writeFloatLE(70000, 8 + length + header['model.layers.1.mlp.up_proj.weight'].data_offsets[0] + 12);
    await writeFile(path, bytes);
    const { error, created, live } = await loadFails(dir, { weightType: 'f16' });
    expect(error).toBeInstanceOf(ModelWeightsError);
    expect(error.message).toBe('Tensor "model.layers.1.mlp.up_proj.weight" has values beyond f16\'s range (70000): load it with bf16 or f32 weights');
    expect(created).toBeGreaterThan(10);
    expect(live).toBe(0);
    // bf16 holds it.
    (await loadWeights(await testGpu(), openDirectorySource(dir), await fixtureConfig('tiny-qwen3'), { weightType: 'bf16' })).destroy();
  });
});

describe('a model in shards (model.safetensors.index.json)', () => {
  it('loads the same tensors as the single file', async () => {
    const dir = await copyFixture('tiny-qwen3');
    const bytes = await readFile(join(dir, 'model.safetensors'));
    const length = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + length).toString()) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    delete header.__metadata__;
    const names = Object.keys(header);
    const shards = [names.slice(0, 9), names.slice(9)];
    const weightMap: Record<string, string> = {};
    for (const [i, shard] of shards.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      const entries: Record<string, unknown> = {};
      const data: Buffer[] = [];
      let offset = 0;
      for (const name of shard) {
        const { dtype, shape, data_offsets: [begin, end] } = header[name];
        entries[name] = { dtype, shape, data_offsets: [offset, offset + end - begin] };
        data.push(bytes.subarray(8 + length + begin, 8 + length + end));
        offset += end - begin;
        weightMap[name] = file;
      }
      const json = Buffer.from(JSON.stringify(entries));
      const size = Buffer.alloc(8);
      size.writeBigUInt64LE(BigInt(json.length));
      await writeFile(join(dir, file), Buffer.concat([size, json, ...data]));
    }
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    await rm(join(dir, 'model.safetensors'));

    const gpu = await testGpu();
    const source = openDirectorySource(dir);
    const weights = await loadWeights(gpu, source, parseModelConfig(await source.readJson('config.json')));
    try {
      const cpu = await fixtureWeights('tiny-qwen3');
      expect(maxAbsDiff(await gpu.readF32(weights.lmHead.parts[0]), cpu.get('lm_head.weight')!)).toBe(0);
      expect(maxAbsDiff(await gpu.readF32(weights.finalNorm), cpu.get('model.norm.weight')!)).toBe(0);
    } finally {
      weights.destroy();
    }
  });
});
