// The hf-golden fixtures (test/fixtures/hf-golden, see its README): three tiny Hub-layout models and
// reference logits from transformers; and hf-golden-families (../shared/fixtures/hf-golden-families
// beside the repository, see its README), three more families in the same layout. Read from disk in
// Node and over HTTP from the Vite server in the browser project, through the same ModelFiles the
// app uses.
import { parseModelConfig, type ModelConfig } from '../../src/model/config.ts';
import { readSafetensorsHeader, readTensorBytes, readTensorIndex, toFloat32, type FloatDType } from '../../src/model/safetensors.ts';
import { openUrlSource } from '../../src/model/source/url-source.ts';
import { type ModelFiles } from '../../src/model/source/model-files.ts';

// Vite's ?url names a file outside the repository as /@fs/<absolute path>, in Node and in the browser.
import familiesReadme from '../../../shared/fixtures/hf-golden-families/README.md?url';

export const fixtureModels = ['tiny-llama3', 'tiny-qwen2', 'tiny-qwen3'] as const;
export const familyFixtureModels = ['tiny-phi3', 'tiny-smollm3', 'tiny-gemma3'] as const;
export type FixtureModel = (typeof fixtureModels)[number] | (typeof familyFixtureModels)[number];

// Not `new URL('…', import.meta.url)` literally: Vite rewrites that form as an asset and drops the
// trailing slash of a folder.
const here = import.meta.url;
export const fixturesUrl = new URL('../fixtures/hf-golden/', here);
const inNode = fixturesUrl.protocol === 'file:';
const familyFixturesUrl = inNode
  ? new URL(`file://${familiesReadme.replace(/^\/@fs/, '').replace(/README\.md$/, '')}`)
  : new URL(familiesReadme.replace(/README\.md$/, ''), globalThis.location.href);

/** Node: the folder on disk. Browser: the URL the test server serves it at. */
export function fixtureLocation(model: FixtureModel): string {
  const folder = (familyFixtureModels as readonly string[]).includes(model) ? familyFixturesUrl : fixturesUrl;
  const url = new URL(`${model}/`, folder);
  return inNode ? decodeURIComponent(url.pathname) : url.href;
}

export async function fixtureSource(model: FixtureModel): Promise<ModelFiles> {
  const location = fixtureLocation(model);
  if (!inNode) return openUrlSource(location, { cache: false });
  const { openDirectorySource } = await import('../../src/model/source/directory-source.node.ts');
  return openDirectorySource(location);
}

export async function fixtureConfig(model: FixtureModel): Promise<ModelConfig> {
  return parseModelConfig(await (await fixtureSource(model)).readJson('config.json'));
}

/** Every weight of a fixture model as f32 (bf16 and f16 widen exactly), by Hugging Face name. */
export async function fixtureWeights(model: FixtureModel): Promise<Map<string, Float32Array>> {
  const source = await fixtureSource(model);
  const weights = new Map<string, Float32Array>();
  for (const [name, info] of await readTensorIndex(source)) {
    weights.set(name, toFloat32(await readTensorBytes(source, info), info.dtype as FloatDType));
  }
  return weights;
}

export interface GoldenRun {
  /** [queryLen + generated, vocab]: the query's logits, then one row per greedy token fed back. */
  queryLogits: Float32Array;
  greedyIds: Int32Array;
}

export interface Golden {
  model: FixtureModel;
  vocab: number;
  contextIds: Int32Array;
  queryIds: Int32Array;
  generated: number;
  blockSizes: number[];
  /**
   * make_golden.py casts the model to the checkpoint's dtype before its float32 run, which rounds
   * RoPE's inverse-frequency buffer to bf16 / f16 too: its logits are those of rounded frequencies
   * (up to 0.17 apart from float32 frequencies for tiny-llama3). Matching them needs the same rounding.
   * make_golden_families.py loads the checkpoint back with from_pretrained: exact f32 frequencies.
   */
  ropeDType: 'f32' | 'f16' | 'bf16';
  /** [16, vocab]: the last 16 positions of one causal forward over context + query. */
  prefillLogitsLast16: Float32Array;
  full: GoldenRun;
  /** By block size. */
  star: Map<number, GoldenRun>;
}

export async function loadGolden(model: FixtureModel): Promise<Golden> {
  const source = await fixtureSource(model);
  const meta = (await source.readJson('golden.json')) as { generated: number; block_sizes: number[]; weights_dtype: string; rope?: string };
  const castDType = ({ bfloat16: 'bf16', float16: 'f16', float32: 'f32' } as const)[meta.weights_dtype as 'float32'];
  if (!castDType) throw new Error(`golden.json of ${model}: unknown weights_dtype ${meta.weights_dtype}`);
  const exactRope = meta.rope?.startsWith('exact float32') ?? false;
  const ropeDType = exactRope ? 'f32' : castDType;
  const { tensors } = await readSafetensorsHeader(source, 'golden.safetensors');
  const read = async (name: string) => {
    const info = tensors.get(name);
    if (!info) throw new Error(`golden.safetensors of ${model} has no "${name}"`);
    const bytes = (await readTensorBytes(source, info)).slice();
    return { info, buffer: bytes.buffer };
  };
  const f32 = async (name: string) => new Float32Array((await read(name)).buffer);
  const i32 = async (name: string) => new Int32Array((await read(name)).buffer);
  const run = async (prefix: string): Promise<GoldenRun> => ({
    queryLogits: await f32(`${prefix}.query_logits`),
    greedyIds: await i32(`${prefix}.greedy_ids`),
  });
  const star = new Map<number, GoldenRun>();
  for (const b of meta.block_sizes) star.set(b, await run(`star_b${b}`));
  return {
    model,
    vocab: (await read('full.query_logits')).info.shape[1],
    contextIds: await i32('context_ids'),
    queryIds: await i32('query_ids'),
    generated: meta.generated,
    blockSizes: meta.block_sizes,
    ropeDType,
    prefillLogitsLast16: await f32('full.prefill_logits_last16'),
    full: await run('full'),
    star,
  };
}

/** A ModelFiles over in-memory files, for tests that build or damage files. */
export function memorySource(files: Record<string, Uint8Array | string>, name = 'memory'): ModelFiles {
  const bytes = (path: string) => {
    const file = files[path];
    if (file === undefined) throw new Error(`No file "${path}" in ${name}`);
    return typeof file === 'string' ? new TextEncoder().encode(file) : file;
  };
  return {
    name,
    async readJson(path) {
      return files[path] === undefined ? undefined : JSON.parse(new TextDecoder().decode(bytes(path)));
    },
    async size(path) {
      return bytes(path).byteLength;
    },
    async read(path, offset, length) {
      return bytes(path).slice(offset, offset + length);
    },
  };
}
