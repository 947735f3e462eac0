// Where q8's error on the hf-golden fixtures comes from, and what other 8-bit (and wider) schemes
// would do: bench/formats/accuracy.ts runs it and writes its section. Each variant rewrites the
// fixture's matrices (embedding and lm_head included) as the scheme reconstructs them (quantize, then
// dequantize, in TypeScript), saves that as an f32 checkpoint and runs it through the f32 engine with
// accuracy.ts's measure; norms and biases stay as they are. The first variant is q8 as loadWeights
// stores it (quantizeQ8 and the reference dequantizer), and the engine's own q8 run is compared with
// it: 0 means the kernels compute exactly what the quantizer specifies, so the rest is the format's.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StarEngine } from '../../src/star/star-engine.ts';
import { openLocalHost } from '../../src/star/local-host.ts';
import { scoreGreedy, type GreedyScore } from '../../src/star/greedy-score.ts';
import { openDirectorySource } from '../../src/model/source/directory-source.node.ts';
import { readSafetensorsHeader, readTensorBytes, toFloat32, type FloatDType } from '../../src/model/safetensors.ts';
import { encodeSafetensors } from '../../src/model/safetensors-writer.ts';
import { parseModelConfig, type ModelConfig } from '../../src/model/config.ts';
import { expectedTensors, type WeightType } from '../../src/model/weights.ts';
import { dequantize, quantizeQ8 } from '../../src/model/formats/quantize.ts';
import { f16BitsToF32, f32ToF16Bits, roundThrough } from '../../src/model/dtype.ts';
import { uniformStream } from '../../src/model/synthetic-weights.ts';
import type { KvType } from '../../src/gpu/kernels/kv-store.ts';
import { ReferenceModel } from '../../test/reference/model.ts';

/** An hf-golden fixture: its checkpoint (as f32) and the ids accuracy.ts feeds. */
export interface Fixture {
  configJson: unknown;
  config: ModelConfig;
  weights: Map<string, { shape: number[]; values: Float32Array }>;
  matrices: Set<string>;
  contextIds: number[];
  queryIds: number[];
  generated: number;
  ropeDType: 'f32' | 'f16' | 'bf16';
}

export async function loadFixture(path: string): Promise<Fixture> {
  const source = openDirectorySource(path);
  const meta = (await source.readJson('golden.json')) as { generated: number; weights_dtype: string; rope?: string };
  const cast = ({ bfloat16: 'bf16', float16: 'f16', float32: 'f32' } as const)[meta.weights_dtype as 'float32'];
  const golden = (await readSafetensorsHeader(source, 'golden.safetensors')).tensors;
  const ids = async (tensor: string) => Array.from(new Int32Array((await readTensorBytes(source, golden.get(tensor)!)).slice().buffer));
  const configJson = await source.readJson('config.json');
  const config = parseModelConfig(configJson);
  const weights = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [tensor, info] of (await readSafetensorsHeader(source, 'model.safetensors')).tensors) {
    weights.set(tensor, { shape: info.shape, values: toFloat32(await readTensorBytes(source, info), info.dtype as FloatDType) });
  }
  return {
    configJson,
    config,
    weights,
    matrices: new Set(expectedTensors(config).filter((t) => t.type === 'matrix').map((t) => t.name)),
    contextIds: await ids('context_ids'),
    queryIds: await ids('query_ids'),
    generated: meta.generated,
    ropeDType: meta.rope?.startsWith('exact float32') ? 'f32' : cast,
  };
}

/** Star Attention b=128 over the context, then the query and `generated` greedy tokens fed back. */
export async function runFixture(path: string, fixture: Fixture, weightType: WeightType, kvType: KvType): Promise<GreedyScore> {
  const engine = await StarEngine.create({ model: { kind: 'directory', path }, weightType, kvType, ropeDType: fixture.ropeDType, conversationRoom: 4096, openHost: openLocalHost });
  try {
    await engine.encode(fixture.contextIds, { attention: 'star', blockSize: 128 });
    return await scoreGreedy(engine, fixture.queryIds, fixture.generated);
  } finally {
    await engine.dispose();
  }
}

export interface ScoreDiff {
  maxLogitDiff: number;
  /**
   * The same over the rows before the first greedy id that differs was fed (all rows when none does):
   * after it the two runs read different tokens, and their logits differ by whole logits.
   */
  maxLogitDiffBeforeFlip: number;
  /** The root mean square of those differences, and how many logits they are. */
  rmsLogitDiffBeforeFlip: number;
  logitsBeforeFlip: number;
  greedyAgree: number;
  greedyTotal: number;
}

export function compareScores(got: GreedyScore, want: GreedyScore, vocab: number): ScoreDiff {
  const flip = Array.from(got.ids).findIndex((id, i) => id !== want.ids[i]);
  const logitsBeforeFlip = flip < 0 ? got.logits.length : (got.logits.length / vocab - got.ids.length + flip) * vocab;
  let [maxLogitDiff, maxLogitDiffBeforeFlip, squares] = [0, 0, 0];
  for (let i = 0; i < got.logits.length; i++) {
    const diff = Math.abs(got.logits[i] - want.logits[i]);
    maxLogitDiff = Math.max(maxLogitDiff, diff);
    if (i < logitsBeforeFlip) [maxLogitDiffBeforeFlip, squares] = [Math.max(maxLogitDiffBeforeFlip, diff), squares + diff * diff];
  }
  const greedyAgree = Array.from(got.ids).filter((id, i) => id === want.ids[i]).length;
  const rmsLogitDiffBeforeFlip = Math.sqrt(squares / logitsBeforeFlip);
  return { maxLogitDiff, maxLogitDiffBeforeFlip, rmsLogitDiffBeforeFlip, logitsBeforeFlip, greedyAgree, greedyTotal: want.ids.length };
}

// --- the schemes -------------------------------------------------------------------------------------
const f16 = (x: number) => f16BitsToF32(f32ToF16Bits(Float32Array.of(x)))[0];

interface Symmetric {
  group: number; // consecutive elements of a row sharing one scale
  maxQ: number; // the grid −maxQ..maxQ
  scale: 'f16' | 'f32';
  rule: 'absmax' | 'mse'; // scale = absmax / maxQ, or the stored scale of least squared error
}

/** Symmetric round-to-nearest group quantization, then dequantization. */
function symmetric(values: Float32Array, s: Symmetric): Float32Array {
  const out = new Float32Array(values.length);
  const stored = (x: number) => (s.scale === 'f16' ? f16(x) : Math.fround(x));
  const level = (v: number, scale: number) => Math.max(-s.maxQ, Math.min(s.maxQ, Math.round(v / scale)));
  for (let first = 0; first < values.length; first += s.group) {
    const group = values.subarray(first, first + s.group);
    const max = group.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    if (max === 0) continue;
    let scale = stored(max / s.maxQ);
    if (s.rule === 'mse') {
      // Clipping trades the largest values' error for a finer grid: scales from 0.80 to 1.02 absmax.
      const squaredError = (c: number) => group.reduce((e, v) => e + (v - level(v, c) * c) ** 2, 0);
      let best = squaredError(scale);
      for (let k = 0; k <= 88; k++) {
        const candidate = stored(((0.8 + k * 0.0025) * max) / s.maxQ);
        const e = squaredError(candidate);
        if (e < best) [best, scale] = [e, candidate];
      }
    }
    for (let i = 0; i < group.length; i++) out[first + i] = level(group[i], scale) * scale;
  }
  return out;
}

/** Asymmetric 8-bit: 255 steps over [min(x, 0), max(x, 0)], an integer zero point, f16 scale (q4's rule with 8 bits). */
function asymmetric(values: Float32Array, group: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let first = 0; first < values.length; first += group) {
    const part = values.subarray(first, first + group);
    const low = part.reduce((m, v) => Math.min(m, v), 0);
    const high = part.reduce((m, v) => Math.max(m, v), 0);
    const scale = f16((high - low) / 255);
    if (scale === 0) continue;
    const zero = Math.round(-low / scale);
    for (let i = 0; i < part.length; i++) out[first + i] = (Math.max(0, Math.min(255, Math.round(part[i] / scale) + zero)) - zero) * scale;
  }
  return out;
}

/** Lower Cholesky factor of the symmetric positive definite n×n matrix a. */
function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = i === j ? Math.sqrt(s) : s / l[j * n + j];
    }
  }
  return l;
}

/** The inverse of a symmetric positive definite n×n matrix, through its Cholesky factor. */
function inverse(a: Float64Array, n: number): Float64Array {
  const l = cholesky(a, n);
  const li = new Float64Array(n * n); // L⁻¹, lower triangular
  for (let i = 0; i < n; i++) {
    li[i * n + i] = 1 / l[i * n + i];
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= l[i * n + k] * li[k * n + j];
      li[i * n + j] = s / l[i * n + i];
    }
  }
  const out = new Float64Array(n * n); // (L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = Math.max(i, j); k < n; k++) s += li[k * n + i] * li[k * n + j];
      out[i * n + j] = s;
    }
  }
  return out;
}

/**
 * GPTQ (Frantar et al. 2022) into q8's layout (int8, absmax f16 scale per 32 of a row): a row's columns
 * are rounded in order and each one's error is spread over the columns still to come through the
 * inverse of the inputs' second moment H = Σ x xᵀ (1% of its mean diagonal added), so that W·x rather
 * than W moves least. A group's scale is taken from its weights as updated when the group starts.
 */
function gptqQ8(w: Float32Array, cols: number, moments: Float64Array): Float32Array {
  const h = Float64Array.from(moments);
  let meanDiagonal = 0;
  for (let i = 0; i < cols; i++) meanDiagonal += h[i * cols + i] / cols;
  for (let i = 0; i < cols; i++) h[i * cols + i] += 0.01 * meanDiagonal;
  // H⁻¹ = Uᵀ U with U upper triangular, U = Lᵀ for L the lower factor of H⁻¹: U[i][j] = L[j][i].
  const l = cholesky(inverse(h, cols), cols);
  const out = new Float32Array(w.length);
  for (let first = 0; first < w.length; first += cols) {
    const row = Float64Array.from(w.subarray(first, first + cols));
    let scale = 0;
    for (let i = 0; i < cols; i++) {
      if (i % 32 === 0) scale = f16(row.subarray(i, i + 32).reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127);
      const q = scale === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(row[i] / scale))) * scale;
      out[first + i] = q;
      const error = (row[i] - q) / l[i * cols + i];
      for (let j = i + 1; j < cols; j++) row[j] -= error * l[j * cols + i];
    }
  }
  return out;
}

export const calibrationTokens = { sequences: 4, length: 256 };

/**
 * Σ x xᵀ of each matrix's inputs (by tensor name) in the f32 model (the CPU reference) over random ids:
 * calibration data unrelated to the fixture's own context and query. An untied embedding has none
 * (it is gathered, not multiplied); a tied one has lm_head's.
 */
function inputMoments(fixture: Fixture): Map<string, Float64Array> {
  const weights = new Map([...fixture.weights].map(([name, { values }]) => [name, Float32Array.from(values)]));
  const nameOf = new Map<ArrayBufferLike, string>([...weights].map(([name, values]) => [values.buffer, name])); // q/k/v are views of their tensor
  const moments = new Map<string, Float64Array>();
  const observeLinear = (weight: Float32Array, x: Float64Array) => {
    const name = nameOf.get(weight.buffer)!;
    const n = x.length;
    if (!moments.has(name)) moments.set(name, new Float64Array(n * n));
    const h = moments.get(name)!;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) h[i * n + j] += x[i] * x[j];
  };
  const model = new ReferenceModel(fixture.config, weights, { ropeDType: fixture.ropeDType, observeLinear });
  const uniform = uniformStream(11);
  for (let s = 0; s < calibrationTokens.sequences; s++) {
    const ids = Array.from(uniform(calibrationTokens.length, 0.5, 0.5), (u) => Math.min(fixture.config.vocab - 1, Math.floor(u * fixture.config.vocab)));
    const rows = ids.map((_, i) => i);
    model.forward(model.newCache(), ids, rows, rows);
  }
  return moments;
}

type Role = 'embedding' | 'lm_head' | 'attention' | 'mlp';
function rolesOf(tensor: string, tied: boolean): Role[] {
  if (tensor === 'model.embed_tokens.weight') return tied ? ['embedding', 'lm_head'] : ['embedding'];
  if (tensor === 'lm_head.weight') return ['lm_head'];
  return tensor.includes('self_attn') ? ['attention'] : ['mlp'];
}

interface Variant {
  name: string;
  /** Bytes a weight with its scales (and zero points); undefined where only some matrices change. */
  bytesPerWeight?: number;
  /** The matrix as the scheme reconstructs it, or undefined to keep it (matrix: its row length and calibration moments). */
  apply: (values: Float32Array, roles: Role[], matrix: { cols: number; moments?: Float64Array }) => Float32Array | undefined;
}

const everyRole: Role[] = ['embedding', 'lm_head', 'attention', 'mlp'];
const q8 = (values: Float32Array) => dequantize(quantizeQ8(values));
const sym = (group: number, maxQ = 127, scale: 'f16' | 'f32' = 'f16', rule: 'absmax' | 'mse' = 'absmax') => (values: Float32Array) => symmetric(values, { group, maxQ, scale, rule });
const only = (roles: Role[], scheme: (values: Float32Array) => Float32Array) => (values: Float32Array, of: Role[]) => (of.some((r) => roles.includes(r)) ? scheme(values) : undefined);
const bytes = (bits: number, group: number, groupBytes: number) => bits / 8 + groupBytes / group;

export const q8Variants: Variant[] = [
  { name: 'q8 (absmax, groups of 32, f16 scale)', bytesPerWeight: bytes(8, 32, 2), apply: only(everyRole, q8) },
  { name: 'q8, input embedding only', apply: only(['embedding'], q8) },
  { name: 'q8, lm_head only', apply: only(['lm_head'], q8) },
  { name: 'q8, attention projections only', apply: only(['attention'], q8) },
  { name: 'q8, MLP only', apply: only(['mlp'], q8) },
  { name: 'q8, all but embedding and lm_head', apply: only(['attention', 'mlp'], q8) },
  { name: 'int8 absmax, groups of 16', bytesPerWeight: bytes(8, 16, 2), apply: only(everyRole, sym(16)) },
  { name: 'int8 absmax, groups of 64', bytesPerWeight: bytes(8, 64, 2), apply: only(everyRole, sym(64)) },
  { name: 'int8 absmax, groups of 32, f32 scale', bytesPerWeight: bytes(8, 32, 4), apply: only(everyRole, sym(32, 127, 'f32')) },
  { name: 'int8 MSE-optimal scale, groups of 32', bytesPerWeight: bytes(8, 32, 2), apply: only(everyRole, sym(32, 127, 'f16', 'mse')) },
  { name: 'int8 MSE-optimal scale, groups of 16', bytesPerWeight: bytes(8, 16, 2), apply: only(everyRole, sym(16, 127, 'f16', 'mse')) },
  { name: 'uint8 asymmetric (zero point), groups of 32', bytesPerWeight: bytes(8, 32, 4), apply: (values) => asymmetric(values, 32) },
  {
    name: `GPTQ into q8's layout (calibrated on ${calibrationTokens.sequences}×${calibrationTokens.length} random ids)`,
    bytesPerWeight: bytes(8, 32, 2),
    apply: (values, _, { cols, moments }) => (moments ? gptqQ8(values, cols, moments) : q8(values)),
  },
  { name: 'int9 absmax, groups of 32 (for scale)', bytesPerWeight: bytes(9, 32, 2), apply: only(everyRole, sym(32, 255)) },
  { name: 'int10 absmax, groups of 32 (for scale)', bytesPerWeight: bytes(10, 32, 2), apply: only(everyRole, sym(32, 511)) },
  { name: 'int11 absmax, groups of 32 (for scale)', bytesPerWeight: bytes(11, 32, 2), apply: only(everyRole, sym(32, 1023)) },
  { name: 'bf16 rounding', bytesPerWeight: 2, apply: (values) => roundThrough(values, 'bf16') },
  { name: 'f16 rounding', bytesPerWeight: 2, apply: (values) => roundThrough(values, 'f16') },
];

export interface StudyRow extends ScoreDiff {
  variant: string;
  bytesPerWeight?: number;
  /** ‖W − Ŵ‖ / ‖W‖ over the matrices the variant changes. */
  weightError: number;
}

export interface Study {
  /** Max |logit difference| of the engine's q8 run against the f32 run of q8's reconstruction. */
  kernelsVsQuantizer: number;
  /** Kurtosis of the matrices' weights (3 for a Gaussian, 1.8 for a uniform distribution). */
  kurtosis: number;
  /** Root mean square of the f32 run's logits. */
  logitRms: number;
  rows: StudyRow[];
}

function kurtosis(fixture: Fixture): number {
  let [n, m2, m4] = [0, 0, 0];
  for (const tensor of fixture.matrices) {
    for (const v of fixture.weights.get(tensor)!.values) [n, m2, m4] = [n + 1, m2 + v * v, m4 + v ** 4];
  }
  return (m4 / n) / (m2 / n) ** 2;
}

/** Every variant of q8Variants on one fixture (at `path`), against `want` (its f32 run). */
export async function studyQ8(path: string, fixture: Fixture, want: GreedyScore): Promise<Study> {
  const scratch = await mkdtemp(join(tmpdir(), 'q8-study-'));
  const moments = inputMoments(fixture);
  const vocab = fixture.config.vocab;
  try {
    const rows: StudyRow[] = [];
    let kernelsVsQuantizer = NaN;
    for (const [index, variant] of q8Variants.entries()) {
      const changed = new Map<string, Float32Array>();
      for (const tensor of fixture.matrices) {
        const { values, shape } = fixture.weights.get(tensor)!;
        const back = variant.apply(values, rolesOf(tensor, fixture.config.tieWordEmbeddings), { cols: shape[1], moments: moments.get(tensor) });
        if (back) changed.set(tensor, back);
      }
      const dir = join(scratch, String(index));
      await mkdir(dir);
      await writeFile(join(dir, 'config.json'), JSON.stringify(fixture.configJson));
      const tensors = Object.fromEntries([...fixture.weights].map(([tensor, { shape, values }]) => [tensor, { dtype: 'F32' as const, shape, data: changed.get(tensor) ?? values }]));
      await writeFile(join(dir, 'model.safetensors'), encodeSafetensors(tensors));
      const got = await runFixture(dir, fixture, 'f32', 'f32');
      if (index === 0) kernelsVsQuantizer = compareScores(await runFixture(path, fixture, 'q8', 'f32'), got, vocab).maxLogitDiff;
      let [error, norm] = [0, 0];
      for (const [tensor, back] of changed) {
        const w = fixture.weights.get(tensor)!.values;
        for (let i = 0; i < w.length; i++) [error, norm] = [error + (w[i] - back[i]) ** 2, norm + w[i] ** 2];
      }
      rows.push({ variant: variant.name, bytesPerWeight: variant.bytesPerWeight, weightError: norm === 0 ? 0 : Math.sqrt(error / norm), ...compareScores(got, want, vocab) });
    }
    const logitRms = Math.sqrt(want.logits.reduce((sum, x) => sum + x * x, 0) / want.logits.length);
    return { kernelsVsQuantizer, kurtosis: kurtosis(fixture), logitRms, rows };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
