// Attention kernels: flash-attention prefill, Star Attention's block-anchor pass (phase 1), the exact
// log-sum-exp merge of partials (phase 2, split-KV) and split-KV decoding. All causal by position and,
// for a sliding-window layer, windowed by position (shape.window), in flash_tile.wgsl's one check.
// Layouts: q and o f32 [rows, heads, headDim]; lse f32 [rows, heads] (natural log, −3.4e38 when a row
// sees no key); keys and values [capacity, kvHeads, headDim] per KV cache chunk buffer, in the span's
// element type (f32, or f16 two to a word: kv-store.ts), widened to f32 as they are read.
// Decoding has two kernels: on GPUs with subgroups, attention_decode_subgroups.wgsl (key groups of
// subgroup lanes, online softmax in registers); elsewhere attention_decode.wgsl (workgroup memory). Both
// write the same partials for the same merge (decodeTiles picks, decodeChoice reports).
// Prefill and block+anchor have three tiles (choosePrefillKernel): the f32 flash tile, the default; on
// CPU adapters with subgroups, its shuffled variant (K/V read once a subgroup lane, shared by
// subgroupShuffle); and a tensor-core tile (Q, K, V and P rounded to f16, scores, softmax and O in f32),
// asked for through shape.tiles.tensorCores until it has run on a GPU with subgroup matrices.
import type { Binding, Gpu, PipelineOptions } from '../gpu.ts';
import { uniformFields, type UniformLayout } from '../uniform-struct.ts';
import { kvElementBytes, kvIncludes, type KvType } from './kv-store.ts';
import { hasTensorCores, type TensorCoreDevice } from './tensor-cores.ts';

/** A flash tile: `rows` query rows (position × GQA head) per workgroup, `lanes` invocations per row,
 *  `keys` keys per step through workgroup memory. */
export interface FlashTiles {
  rows: number;
  lanes: number;
  keys: number;
}

/**
 * The shuffled f32 tile (shaders/flash_tile_shuffled.wgsl): `rows` query rows per workgroup, one
 * invocation each, `keys` keys per step through workgroup memory; its subgroups go through each step's
 * keys a subgroup's smallest size (at most 8) at a time.
 */
export interface ShuffledTiles {
  rows: number;
  keys: number;
}

/**
 * Decode's tile: `rows` query rows (position × GQA head) per workgroup, on shaders/attention_decode.wgsl
 * (through workgroup memory, any adapter) or, given `subgroups`, on shaders/attention_decode_subgroups.wgsl.
 */
export interface DecodeTiles {
  rows: number;
  subgroups?: DecodeSubgroupLayout;
}

/**
 * The subgroup decode kernel's layout: `keyLanes` subgroup lanes read a key row (a vec4 of cache words
 * each, or more for long rows), each key group loads `unroll` keys' rows at once, `threads` invocations
 * a workgroup.
 */
export interface DecodeSubgroupLayout {
  keyLanes: number;
  unroll: number;
  threads: number;
}

/** What the decode layout depends on: the adapter's subgroups. */
export type DecodeDevice = Pick<Gpu, 'hasSubgroups' | 'adapter'>;

/**
 * A flash tile on tensor cores (shaders/flash_tile_tensor_cores.wgsl): `subgroups` subgroups of 16 query
 * rows per workgroup, `keys` keys per step. `emulated`: its fragments in plain WGSL
 * (shaders/flash_fragments_emulated.wgsl), to check the tile's logic where there are no tensor cores.
 */
export interface TensorCoreTiles {
  subgroups: 1 | 2 | 3 | 4;
  keys: 16 | 32;
  emulated?: boolean;
}

/** The kernel of prefill and block+anchor: the f32 flash tile, its shuffled variant, or the tensor-core one. */
export type PrefillKernel = { kind: 'f32'; tiles: FlashTiles } | { kind: 'shuffled'; tiles: ShuffledTiles } | { kind: 'tensor-cores'; tiles: TensorCoreTiles };

export interface AttentionShape {
  heads: number;
  kvHeads: number;
  headDim: number;
  scale: number;
  /** Sliding window: a key is visible to a query only when key position > query position − window. */
  window?: number;
  /** Soft-capping of scaled scores, s → softcap · tanh(s / softcap) (Gemma 2). */
  softcap?: number;
  /**
   * Overrides the measured defaults (tests and benchmarks). Prefill and block+anchor: `prefill` asks for
   * the f32 tile, `shuffled` for its shuffled variant, `tensorCores` for the tensor-core one (an error
   * where the device cannot run it).
   */
  tiles?: { prefill?: FlashTiles; shuffled?: ShuffledTiles; tensorCores?: TensorCoreTiles; decode?: DecodeTiles; splitKeys?: number };
}
export interface QueryRows {
  q: GPUBuffer;
  rows: number;
  firstPosition: number;
}
/** Decode's query rows: their first position is read on the GPU, positions[0] (u32). */
export interface DecodeQueryRows {
  q: GPUBuffer;
  rows: number;
  positions: GPUBuffer;
}
export interface KvSpan {
  keys: GPUBuffer;
  values: GPUBuffer;
  start: number;
  length: number;
  firstPosition: number;
  /** The element type keys and values are stored in (default f32). */
  dtype?: KvType;
}
/** o [rows, heads, headDim], lse [rows, heads]. */
export interface AttentionOutput {
  o: GPUBuffer;
  lse: GPUBuffer;
}

/** Storage bindings at an offset need it to be a multiple of this (the largest value the limit may take). */
const bindingAlignment = 256;
/** The largest head dimension the kernels take. */
const maxHeadDim = 256;
/** Bounds the f32 tile's vec4s per lane: flash_tile.wgsl sizes its private arrays by it. */
const maxVecsPerLane = 16;
/** The same for the shuffled tile, whose one lane a row holds all of it: head dims up to 128. */
const maxShuffledVecs = 32;
/** Keys a subgroup step of the shuffled tile takes at most (its registers hold a step's scores): 8, as
 *  measured on lavapipe (its subgroups' size) and as onnxruntime's FlashAttention takes them. */
const maxShuffleStep = 8;

// The shaders' uniform structs (`//#struct Params`), declared here once with their packing.
const queryFields = {
  rows: 'u32',
  heads: 'u32',
  kv_heads: 'u32',
  group: 'u32', // heads / kv_heads
  q_first: 'u32', // position of query row 0
} as const satisfies UniformLayout;

const prefillParams = {
  ...queryFields,
  kv_start: 'u32', // buffer row of the span's first key
  kv_length: 'u32',
  kv_first: 'u32', // position of the span's first key
  scale: 'f32',
  split_keys: 'u32', // keys of each split (the span's length when unsplit)
  slot: 'u32', // the partial slot of split 0 (0 when unsplit: the output itself)
} as const satisfies UniformLayout;

const blockAnchorParams = {
  ...queryFields,
  block_size: 'u32',
  anchor_start: 'u32', // buffer row of the anchor's first key
  anchor_length: 'u32',
  anchor_first: 'u32', // position of the anchor's first key
  blocks_start: 'u32', // buffer row of the blocks' first key
  blocks_length: 'u32',
  blocks_first: 'u32', // position of the blocks' first key
  scale: 'f32',
} as const satisfies UniformLayout;

const decodeParams = {
  rows: 'u32',
  heads: 'u32',
  kv_heads: 'u32',
  group: 'u32', // heads / kv_heads
  kv_start: 'u32', // buffer row of the span's first key
  kv_length: 'u32',
  kv_first: 'u32', // position of the span's first key
  scale: 'f32',
  split: 'u32', // keys per split
  partial_base: 'u32', // partial slot of this span's first split
  split_shift: 'u32', // < split: keys of the first split's grid cell that lie before the span (0: none)
} as const satisfies UniformLayout;

const lseMergeParams = {
  count: 'u32',
  row_heads: 'u32', // rows · heads: (row, head) pairs per partial
} as const satisfies UniformLayout;

const citationParams = {
  slots: 'u32', // splits of this KV span
  slot_base: 'u32', // partial slot of the span's first split
  first_cell: 'u32', // grid cell of that split
  sub_offset: 'u32', // its index among its cell's splits
  per_cell: 'u32', // splits per grid cell
  rows: 'u32', // query rows
  heads: 'u32',
  first_position: 'u32', // the position whose row is accumulator row 0
  table_rows: 'u32', // accumulator rows (rows past it are dropped)
  cells: 'u32', // accumulator cells per row (cells past it are dropped)
  weight: 'f32',
} as const satisfies UniformLayout;
/**
 * Decode spreads its keys over about this many workgroups (splits × kv heads × query tiles), of 64
 * invocations (KEYS in shaders/attention_decode.wgsl), to keep a large GPU's memory busy; but into at
 * most maxDecodePartials splits a span, which the merge then reads (8 lanes of partials at once). On
 * an H100 (Qwen2.5-0.5B's layout, 16K keys) 1024 workgroups and 128 partials a span took 1.7 ms a
 * token in attention and 0.35 ms in the merge, the kernels' loads waiting on memory one chain at a time.
 */
const decodeWorkgroupsWanted = 4096;
const maxDecodePartials = 512;
const decodeKeysPerStep = 64;
/**
 * The subgroup kernel: about this many workgroups (a few per core of a large GPU), at least
 * subgroupStepsPerSplit batches of keys in each (the groups' final merge is paid once a workgroup), and
 * at most maxSubgroupPartials partials a span for the merge. On an H100 (bench/attention-decode.ts,
 * 64K keys) 512 workgroups were the fastest: Qwen2.5-0.5B's layout 36 µs against 45 µs at 1024,
 * Llama-3.2-1B's 66 µs against 76 µs; at 16K keys 512 and 1024 were within 1 µs.
 */
const subgroupWorkgroupsWanted = 512;
const subgroupStepsPerSplit = 4;
const maxSubgroupPartials = 256;
/** Workgroup floats the subgroup kernel adds the key groups' O through (MERGE_FLOATS there). */
const subgroupMergeFloats = 2048;

// Tile sizes (rows/lanes/keys). Prefill, on both CPU adapters, the only ones here (2 cores shared with
// other jobs; every comparison within one run, candidates interleaved, fastest of N):
//   SwiftShader (Chromium, `npm run bench:ort -- --tiles …`, ours / ORT's GroupQueryAttention, best of 3):
//     Qwen 14/2 heads, headDim 64, T 512 | 1024: 64/1/16 1.04 | 1.11, 32/1/16 1.10 | 1.17, 32/2/16
//     1.22 | 1.41, 32/2/8 1.28, 64/2/16 1.29, 32/2/32 1.26, 16/4/16 1.79. Llama 32/8 heads, headDim
//     128, T 256 | 512: 32/2/16 0.97 | 1.07 (again 0.98 | 1.05), 64/2/8 1.05 | 1.05 (0.96 | 1.09),
//     32/2/8 1.03 | 1.08, 16/2/16 1.07 | 1.05, 32/4/8 1.39 | 1.36 (1.23 | 1.34), 64/4/8 1.45 | 1.30.
//   lavapipe (T = S = 512, best of 6): 14/2 heads, headDim 64: 64/1/16 297 ms, 32/2/16 373 (another
//     run: 365, 388; 32/1/16 368, 64/1/8 383). 32/8 heads, headDim 128: 32/2/16 1840 ms, 64/2/8 1721,
//     32/2/8 1818, 32/4/8 1911, 16/2/16 2139. Earlier (8/2 heads, machine less loaded): headDim 64
//     64/1/16 110 ms, 32/2/16 125, 32/4/16 137; headDim 128 32/2/16 215, 32/4/16 224, 32/4/8 235.
// Fewer lanes per row win on both: less cross-lane summing through workgroup memory. The price is
// lavapipe's compile time, which follows the vec4s one lane holds in registers (it unrolls those
// loops): without Mesa's shader cache, first run (compile + run) headDim 64 2.9 s at 32/2/16, 12.9 s
// at 64/1/16; headDim 128 7.2 s at 32/4/8, 15 s at 32/2/16. Mesa's on-disk cache pays it once per
// machine. Workgroup memory stays ≤ 16 KiB (14 KiB at most).
export function prefillTiles(headDim: number): FlashTiles {
  if (headDim <= 64) return { rows: 64, lanes: 1, keys: 16 };
  if (headDim <= 128) return { rows: 32, lanes: 2, keys: 16 };
  return { rows: 16, lanes: 8, keys: 8 };
}

/**
 * The shuffled tile on CPU adapters with subgroups (choosePrefillKernel): 64 rows and 16 keys, 8 where
 * its workgroup memory cannot hold 16 keys' K and V. On lavapipe (T = 512, best of 3, one run): head dim
 * 64 64/16 88 ms, 128/16 88, 64/32 91, 32/16 97; head dim 128 64/16 378, 32/16 494, 64/8 536, 32/8 546
 * (the f32 tile: 312 and 1709).
 */
export function shuffledTiles(gpu: TensorCoreDevice, headDim: number): ShuffledTiles {
  const wide = { rows: 64, keys: 16 };
  return shuffledBytes(wide, headDim) <= gpu.device.limits.maxComputeWorkgroupStorageSize ? wide : { rows: 64, keys: 8 };
}

/** Keys the shuffled tile's subgroups take a step: the adapter's smallest subgroup, at most maxShuffleStep. */
function shuffleStep(gpu: TensorCoreDevice): number {
  return Math.min(gpu.adapter.subgroupSizes.min, maxShuffleStep);
}

/** Workgroup bytes of the shuffled tile: K and V of its keys, and p_tile (flash_tile_common.wgsl). */
function shuffledBytes(tiles: ShuffledTiles, headDim: number): number {
  return 4 * (2 * tiles.keys * 4 * Math.ceil(headDim / 4) + tiles.rows * tiles.keys);
}

/**
 * Why the shuffled tile cannot run these tiles here (undefined: it can). Its steps spread keys over a
 * subgroup's lanes 0…step−1, so it needs subgroups, a step within the smallest subgroup, and workgroups
 * of whole subgroups of the largest size (what makes every subgroup full in practice: WGSL does not
 * promise it).
 */
function shuffledTileProblem(gpu: TensorCoreDevice, headDim: number, tiles: ShuffledTiles): string | undefined {
  const { min, max } = gpu.adapter.subgroupSizes;
  const { rows, keys } = tiles;
  if (!gpu.hasSubgroups) return 'the device has no subgroups';
  if (!(min >= 2 && max >= min)) return `the adapter's subgroup sizes (${min}–${max}) are unknown`;
  if (Math.ceil(headDim / 4) > maxShuffledVecs) return `head dim ${headDim} is more than ${4 * maxShuffledVecs}`;
  if (!(Number.isInteger(rows) && rows > 0 && rows % max === 0 && rows <= gpu.device.limits.maxComputeInvocationsPerWorkgroup)) {
    return `${rows} rows are not whole subgroups of ${max} within a workgroup`;
  }
  if (!(Number.isInteger(keys) && keys > 0)) return `${keys} keys a step is not a positive integer`;
  if (shuffledBytes(tiles, headDim) > gpu.device.limits.maxComputeWorkgroupStorageSize) return `it needs more workgroup memory than the device has`;
  return undefined;
}

/**
 * The tensor-core tile (choosePrefillKernel). Not yet compared with other sizes on the H200; 4 subgroups
 * of 16 rows and 32 keys fill the workgroup memory the fragments' fixed-size arrays take.
 */
const tensorCoreTiles: TensorCoreTiles = { subgroups: 4, keys: 32 };
/** Workgroup memory of the tensor-core tile: on tensor cores flash_fragments.wgsl's fixed-size arrays
 *  (64 rows, head dim 128, 32 keys: Q, K, Vᵀ, P in f16, the f32 scratch), emulated f32 arrays of the
 *  tile's size; and the tile's own. */
function tensorCoreBytes(tiles: TensorCoreTiles, headDim: number): number {
  const rows = 16 * tiles.subgroups;
  if (tiles.emulated) {
    const stride = headDim + 8;
    return 4 * (rows * stride + tiles.keys * stride + headDim * (tiles.keys + 8) + rows * 32 + rows * (tiles.keys + 8) + 32 * tiles.subgroups);
  }
  return 2 * (64 * 136 + 32 * 136 + 128 * 32 + 64 * 40) + 4 * 64 * 32 + 4 * 32 * tiles.subgroups;
}

/** Head dimensions the tensor-core tile takes: whole 32-column halves of O per pair of invocations, at most 128. */
function tensorCoreHeadDim(headDim: number): boolean {
  return headDim % 32 === 0 && headDim <= 128;
}

/** Whether prefill and block+anchor run on tensor cores by default on this device, for this shape. */
export function hasTensorCoreAttention(gpu: TensorCoreDevice, shape: AttentionShape): boolean {
  return (
    hasTensorCores(gpu) &&
    tensorCoreHeadDim(shape.headDim) &&
    tensorCoreBytes(tensorCoreTiles, shape.headDim) <= gpu.device.limits.maxComputeWorkgroupStorageSize
  );
}

/**
 * The tile the shape's tiles ask for (an error where the device cannot run it); by default, the shuffled
 * tile on CPU adapters with subgroups where it fits the shape, else the f32 tile. On lavapipe, where a
 * workgroup-memory read shared by a subgroup costs a gather, the shuffled tile ran prefill attention
 * 3.5–4.7× faster (512–2048 tokens), on SwiftShader 0.95–1.5× (bench/results/shuffle-tile-lavapipe.md).
 * GPUs keep the f32 tile: a shared read is a broadcast there, and the shuffled tile has not been timed
 * on one. The tensor-core tile is not chosen by default where the device has tensor cores (hasTensorCoreAttention): on an H100
 * (bench/results/h100-2026-12-07-s5/b-attention-tensor-cores.md) its first version's LSEs matched the
 * reference but its outputs did not (its P·V read V as a row-major right operand and loaded result
 * fragments back from workgroup memory; it now uses only the operations its Q·Kᵀ uses, not yet run
 * there: bench/subgroup-matrix-probe.ts), and it ran no faster than the f32 tile (0.75–1.03×). Q, K, V
 * and P are rounded to f16 (scores, softmax and O stay f32).
 */
export function choosePrefillKernel(gpu: TensorCoreDevice, shape: AttentionShape): PrefillKernel {
  const { tensorCores: wanted, prefill: f32Tiles, shuffled } = shape.tiles ?? {};
  if ([wanted, f32Tiles, shuffled].filter(Boolean).length > 1) {
    throw new Error('Attention tiles: give one prefill tile (the f32 one, the shuffled one or the tensor-core one), not several');
  }
  if (wanted) {
    if (!wanted.emulated && !hasTensorCoreAttention(gpu, shape)) {
      throw new Error(`Tensor-core attention needs f16 16×16×16 subgroup matrices, subgroups of 32 and a head dim that is a multiple of 32 up to 128 (this one: ${shape.headDim}); this device or shape has not`);
    }
    return { kind: 'tensor-cores', tiles: wanted };
  }
  if (shuffled) {
    const problem = shuffledTileProblem(gpu, shape.headDim, shuffled);
    if (problem) throw new Error(`Shuffled flash tile ${JSON.stringify(shuffled)} cannot run here: ${problem}`);
    return { kind: 'shuffled', tiles: shuffled };
  }
  if (f32Tiles) return { kind: 'f32', tiles: f32Tiles };
  if (gpu.adapter.runsOnCpu) {
    const byDefault = shuffledTiles(gpu, shape.headDim);
    if (!shuffledTileProblem(gpu, shape.headDim, byDefault)) return { kind: 'shuffled', tiles: byDefault };
  }
  return { kind: 'f32', tiles: prefillTiles(shape.headDim) };
}

/**
 * One tile holds the kv head's whole group of rows, so they share every K/V load: up to 16 through
 * workgroup memory (8 for head dimensions past 128, to keep the queries' workgroup memory within
 * 16 KiB). On subgroups each lane holds its share of every row's query and O in registers, so tiles
 * take up to 4 rows, with no padding rows (7 heads a group: tiles of 4 and 3): on an H100, Qwen2.5-0.5B's
 * 7 heads ran in 47 µs in two tiles of 4, 66 µs in one of 7 and 75 µs in one of 8 (64K keys).
 * GPUs with subgroups take the subgroup kernel; CPU adapters keep the workgroup-memory one: the
 * subgroup kernel is laid out for a GPU's memory system and was timed only there.
 */
function decodeTiles(gpu: DecodeDevice, headDim: number, groupRows: number, kvType: KvType): DecodeTiles {
  const subgroups = gpu.adapter.runsOnCpu ? undefined : subgroupLayout(gpu, headDim, kvType);
  if (subgroups) return { rows: Math.ceil(groupRows / Math.ceil(groupRows / 4)), subgroups };
  return { rows: Math.min(headDim <= 128 ? 16 : 8, 2 ** Math.ceil(Math.log2(groupRows))) };
}

/**
 * The subgroup kernel's layout for this adapter and row, if it can run it (CPU adapters included, which
 * decode does not give it by default): rows of whole vec4s, key groups of up to 16 lanes within the
 * smallest subgroup (vec4s a lane: at most 4), 64 invocations (or one subgroup of the largest size) a
 * workgroup, 8 keys a group in flight (2 for rows of more than 16 bytes a lane): on an H100, 8 took
 * 59 and 75 µs where 4 took 66 and 81 (Qwen2.5-0.5B's and Llama-3.2-1B's layouts, 64K keys).
 */
export function subgroupLayout(gpu: DecodeDevice, headDim: number, kvType: KvType): DecodeSubgroupLayout | undefined {
  const { min, max } = gpu.adapter.subgroupSizes;
  const rowBytes = headDim * kvElementBytes(kvType);
  if (!gpu.hasSubgroups || min === 0 || rowBytes % 16 !== 0) return undefined;
  const rowVecs = rowBytes / 16;
  let keyLanes = 1;
  while (keyLanes < 16 && 2 * keyLanes <= min && rowVecs % (2 * keyLanes) === 0) keyLanes *= 2;
  const layout = { keyLanes, unroll: rowBytes / keyLanes > 16 ? 2 : 8, threads: Math.max(64, max) };
  return subgroupLayoutProblem(gpu, headDim, kvType, layout) ? undefined : layout;
}

/** Why the subgroup kernel cannot run this layout here (undefined: it can). */
function subgroupLayoutProblem(gpu: DecodeDevice, headDim: number, kvType: KvType, layout: DecodeSubgroupLayout): string | undefined {
  const { min, max } = gpu.adapter.subgroupSizes;
  const rowBytes = headDim * kvElementBytes(kvType);
  const { keyLanes, unroll, threads } = layout;
  if (!gpu.hasSubgroups) return 'the device has no subgroups';
  if (!(min > 0 && keyLanes <= min)) return `key groups of ${keyLanes} lanes need subgroups of at least that many (this adapter: ${min || 'unknown'})`;
  if (!(threads % max === 0 && threads <= 256)) return `${threads} invocations are not whole subgroups of ${max} (at most 256)`;
  if (!(rowBytes % (16 * keyLanes) === 0 && rowBytes / (16 * keyLanes) <= 4)) return `a row of ${rowBytes} bytes is not 1 to 4 vec4s for each of ${keyLanes} lanes`;
  if (!(Number.isInteger(unroll) && unroll >= 1 && unroll <= 8)) return `unroll ${unroll} is not 1 to 8`;
  if ((threads * rowBytes) / (keyLanes * kvElementBytes(kvType)) > subgroupMergeFloats) return `${threads} invocations hold more of O than the final merge takes`;
  return undefined;
}

function check(shape: AttentionShape): number {
  const { heads, kvHeads, headDim, window, softcap } = shape;
  if (!(kvHeads > 0 && heads % kvHeads === 0)) throw new Error(`heads (${heads}) must be a multiple of kvHeads (${kvHeads})`);
  if (!(headDim > 0 && headDim <= maxHeadDim)) throw new Error(`headDim ${headDim} is not in 1…${maxHeadDim}`);
  if (window !== undefined && !(Number.isInteger(window) && window >= 1 && window < 2 ** 32)) throw new Error(`window ${window} must be a positive integer`);
  if (softcap !== undefined && !(softcap > 0)) throw new Error(`softcap ${softcap} must be positive`);
  return heads / kvHeads;
}

/** The one element type of spans read in one dispatch. */
function spanType(spans: readonly KvSpan[]): KvType {
  const type = spans[0]?.dtype ?? 'f32';
  if (spans.some((span) => (span.dtype ?? 'f32') !== type)) throw new Error(`KV spans of different element types cannot be read in one dispatch`);
  return type;
}

function flashPipeline(gpu: Gpu, shader: string, structs: PipelineOptions['structs'], shape: AttentionShape, tiles: FlashTiles, kvType: KvType): GPUComputePipeline {
  const { rows, lanes, keys } = tiles;
  const vecsPerLane = Math.ceil(shape.headDim / (4 * lanes));
  const workgroupBytes = 4 * (keys * 4 * vecsPerLane * lanes + rows * keys * lanes + rows * keys);
  if (vecsPerLane > maxVecsPerLane || lanes > keys || keys % 2 !== 0 || workgroupBytes > gpu.device.limits.maxComputeWorkgroupStorageSize) {
    throw new Error(`Flash tile ${JSON.stringify(tiles)} does not fit headDim ${shape.headDim} on this device`);
  }
  const constants = { HEAD_DIM: shape.headDim, ROWS: rows, LANES: lanes, KEYS: keys, ...maskingConstants(shape) };
  return gpu.pipeline(shader, { constants, includes: kvIncludes(kvType), structs, shared: { MAX_VECS_PER_LANE: maxVecsPerLane } });
}

/** The shuffled tile's pipeline (choosePrefillKernel has checked that it runs here): one lane a row. */
function shuffledPipeline(gpu: Gpu, shader: string, structs: PipelineOptions['structs'], shape: AttentionShape, tiles: ShuffledTiles, kvType: KvType): GPUComputePipeline {
  const constants = { HEAD_DIM: shape.headDim, ROWS: tiles.rows, LANES: 1, KEYS: tiles.keys, ...maskingConstants(shape) };
  const includes = { flash_tile: 'flash_tile_shuffled', ...kvIncludes(kvType) };
  return gpu.pipeline(shader, { constants, includes, structs, shared: { MAX_VECS_PER_LANE: maxShuffledVecs, STEP: shuffleStep(gpu) } });
}

function maskingConstants(shape: AttentionShape): Record<string, number> {
  return { WINDOW: shape.window ?? 0, SOFTCAP: shape.softcap ?? 0 };
}

/** The prefill-like shaders, which take either flash tile, and their uniforms. */
const prefillShaders = { attention_prefill: prefillParams, attention_block_anchor: blockAnchorParams } as const;
export type PrefillShader = keyof typeof prefillShaders;

/** Query rows (position × GQA head) a workgroup of the kernel takes. */
function prefillTileRows(kernel: PrefillKernel): number {
  return kernel.kind === 'tensor-cores' ? 16 * kernel.tiles.subgroups : kernel.tiles.rows;
}

/** The pipeline of a prefill-like shader (prefill, block+anchor) with the chosen tile, and its query rows per workgroup. */
function prefillPipeline(gpu: Gpu, shader: PrefillShader, shape: AttentionShape, kvType: KvType): { pipeline: GPUComputePipeline; rows: number } {
  const kernel = choosePrefillKernel(gpu, shape);
  const structs = { Params: prefillShaders[shader] };
  if (kernel.kind === 'f32') return { pipeline: flashPipeline(gpu, shader, structs, shape, kernel.tiles, kvType), rows: prefillTileRows(kernel) };
  if (kernel.kind === 'shuffled') return { pipeline: shuffledPipeline(gpu, shader, structs, shape, kernel.tiles, kvType), rows: prefillTileRows(kernel) };
  const { subgroups, keys } = kernel.tiles;
  const bytes = tensorCoreBytes(kernel.tiles, shape.headDim);
  if (!tensorCoreHeadDim(shape.headDim) || ![1, 2, 3, 4].includes(subgroups) || ![16, 32].includes(keys) || bytes > gpu.device.limits.maxComputeWorkgroupStorageSize) {
    throw new Error(`Tensor-core flash tile ${JSON.stringify(kernel.tiles)} does not fit headDim ${shape.headDim} on this device`);
  }
  return { pipeline: gpu.pipeline(shader, tensorCoreTileOptions(shader, shape, kernel.tiles, kvType)), rows: prefillTileRows(kernel) };
}

/**
 * How a prefill-like shader is built with the tensor-core tile (also for the check that its WGSL
 * compiles where no adapter runs it: test/gpu/attention-tensor-cores.node.test.ts).
 */
export function tensorCoreTileOptions(shader: PrefillShader, shape: AttentionShape, tiles: TensorCoreTiles, kvType: KvType): PipelineOptions {
  const includes: Record<string, string> = { flash_tile: 'flash_tile_tensor_cores', ...kvIncludes(kvType) };
  if (tiles.emulated) includes.flash_fragments = 'flash_fragments_emulated';
  const constants = { HEAD_DIM: shape.headDim, SUBGROUPS: tiles.subgroups, KEYS: tiles.keys, ...maskingConstants(shape) };
  return { includes, constants, structs: { Params: prefillShaders[shader] } };
}

/** Workgroup counts [x, z] for `n` workgroups in one dimension, folded when above the device limit. */
function fold(gpu: Gpu, n: number): [number, number] {
  const x = Math.min(n, gpu.device.limits.maxComputeWorkgroupsPerDimension);
  return [x, Math.ceil(n / Math.max(x, 1))];
}

/** How attentionPrefill divides a span's keys: `count` splits of `keys` keys (the last shorter). */
export interface PrefillSplits {
  count: number;
  keys: number;
}

/**
 * A prefill dispatch spreads over about this many workgroups on a GPU. A 512-row piece of
 * Qwen2.5-0.5B's layout is 112 workgroups of 64 rows (56 query tiles × 2 KV heads), fewer than an
 * H100 has cores, each walking every key the piece sees (64K at the end of a long document); a
 * question's 30 rows in phase 2 are 8. So the keys are split and the splits merged (lse_merge). Not
 * yet timed on a GPU. CPU adapters (a few cores, and attention_prefill's figures there) stay unsplit.
 */
const prefillWorkgroupsWanted = 1024;
/** Keys a split takes at least: the merge reads a partial O per split, so a split should outweigh it. */
const minPrefillSplitKeys = 1024;
/** Splits at most: the partials a span's merge reads. */
const maxPrefillSplits = 32;

/**
 * The most splits a span's keys take for `rows` query rows, whatever their number: enough workgroups
 * for a GPU (see prefillWorkgroupsWanted), 1 on a CPU adapter. Sizes the partials of a piece, which
 * every layer's spans share.
 */
export function prefillMaxSplits(gpu: TensorCoreDevice, shape: AttentionShape, rows: number): number {
  if (gpu.adapter.runsOnCpu) return 1;
  const tileRows = prefillTileRows(choosePrefillKernel(gpu, shape));
  const workgroups = Math.ceil((rows * (shape.heads / shape.kvHeads)) / tileRows) * shape.kvHeads;
  return Math.max(1, Math.min(maxPrefillSplits, Math.ceil(prefillWorkgroupsWanted / workgroups)));
}

/** The splits of a span of `keys` keys for `rows` query rows: as many as prefillMaxSplits gives, fewer for a span under 1024 keys a split. */
export function prefillSplits(gpu: TensorCoreDevice, shape: AttentionShape, rows: number, keys: number): PrefillSplits {
  const count = Math.max(1, Math.min(prefillMaxSplits(gpu, shape, rows), Math.floor(keys / minPrefillSplitKeys)));
  if (count === 1) return { count: 1, keys: Math.max(keys, 1) };
  // Whole steps of 64 keys a split (a multiple of every tile's KEYS), then no empty split at the end.
  const perSplit = Math.ceil(keys / count / 64) * 64;
  return { count: Math.ceil(keys / perSplit), keys: perSplit };
}

/**
 * Flash attention of `query` over one span, causal by position. Writes normalised O and LSE.
 * It is the full-attention prefill AND the per-host partial of Star Attention's phase 2 (where every
 * context key precedes the queries, so everything is visible). With `splits` (prefillSplits), split
 * s of the span's keys writes partial slot `slot + s` of `out` ([slots, rows, heads, headDim] and
 * [slots, rows, heads]), for lseMerge.
 */
export function attentionPrefill(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  shape: AttentionShape,
  query: QueryRows,
  kv: KvSpan,
  out: AttentionOutput,
  splits: PrefillSplits & { slot: number } = { count: 1, keys: Math.max(kv.length, 1), slot: 0 },
): void {
  const group = check(shape);
  const { pipeline, rows } = prefillPipeline(gpu, 'attention_prefill', shape, spanType([kv]));
  const params = gpu.uniform(
    uniformFields(prefillParams, {
      rows: query.rows,
      heads: shape.heads,
      kv_heads: shape.kvHeads,
      group,
      q_first: query.firstPosition,
      kv_start: kv.start,
      kv_length: kv.length,
      kv_first: kv.firstPosition,
      scale: shape.scale,
      split_keys: splits.keys,
      slot: splits.slot,
    }),
  );
  const [x, z] = fold(gpu, Math.ceil((query.rows * group) / rows));
  gpu.dispatch(encoder, pipeline, [params, query.q, kv.keys, kv.values, out.o, out.lse], [x, shape.kvHeads * splits.count, z]);
}

/** Star Attention phase 1, one or several blocks in one dispatch: query rows [j*blockSize, (j+1)*blockSize) belong to block j of this
 *  batch (the last block may be shorter); each query sees ALL anchor keys (anchor positions precede its block; with shape.window, only those
 *  within the window of its position) plus the keys of its own
 *  block that are causally visible by position. `blocks` spans the keys of all the batch's blocks, row-aligned with the queries
 *  (key row r belongs to the same block as query row r). Two KV sources read in one pass, no copy/concat. Never used for block 0. */
export function attentionBlockAnchor(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  shape: AttentionShape,
  query: QueryRows,
  anchor: KvSpan,
  blocks: KvSpan,
  blockSize: number,
  out: AttentionOutput,
): void {
  const group = check(shape);
  const { pipeline, rows } = prefillPipeline(gpu, 'attention_block_anchor', shape, spanType([anchor, blocks]));
  const params = gpu.uniform(
    uniformFields(blockAnchorParams, {
      rows: query.rows,
      heads: shape.heads,
      kv_heads: shape.kvHeads,
      group,
      q_first: query.firstPosition,
      block_size: blockSize,
      anchor_start: anchor.start,
      anchor_length: anchor.length,
      anchor_first: anchor.firstPosition,
      blocks_start: blocks.start,
      blocks_length: blocks.length,
      blocks_first: blocks.firstPosition,
      scale: shape.scale,
    }),
  );
  const resources = [params, query.q, anchor.keys, anchor.values, blocks.keys, blocks.values, out.o, out.lse];
  const tilesPerBlock = Math.ceil((Math.min(blockSize, query.rows) * group) / rows);
  gpu.dispatch(encoder, pipeline, resources, [tilesPerBlock, Math.ceil(query.rows / blockSize), shape.kvHeads]);
}

/** Exact merge of `count` partials stored back to back: partials.o is [count, rows, heads, headDim], partials.lse [count, rows, heads].
 *  Max-shifted (logaddexp), never a raw exp of a difference of unshifted values. The partials may be
 *  buffer ranges (bindings at 256-byte aligned offsets). */
export function lseMerge(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  shape: AttentionShape,
  partials: AttentionOutput | { o: Binding; lse: Binding },
  count: number,
  rows: number,
  out: AttentionOutput,
): void {
  check(shape);
  const pairs = rows * shape.heads;
  const params = gpu.uniform(uniformFields(lseMergeParams, { count, row_heads: pairs }));
  const [x, z] = fold(gpu, pairs);
  // Invocations a lane spends on a head's dimensions: 16 for heads of up to 64 (4 each), so that 16 lanes walk the partials.
  const dimThreads = shape.headDim <= 64 ? 16 : 32;
  const pipeline = gpu.pipeline('lse_merge', { structs: { Params: lseMergeParams }, shared: { HEAD_DIM: shape.headDim, DIM_THREADS: dimThreads } });
  gpu.dispatch(encoder, pipeline, [params, partials.o, partials.lse, out.o, out.lse], [x, 1, z]);
}

interface DecodePlan {
  group: number;
  tiles: DecodeTiles;
  split: number;
  /** Splits of each span. */
  splits: number[];
  /** Per span, keys of its first split's grid cell that lie before the span (all 0 without a grid). */
  shifts: number[];
  /** Byte size of the scratch region holding the partial outputs; the partial LSEs follow. */
  oBytes: number;
  lseBytes: number;
}

/**
 * Citations' grid of positions: decode splits become the cells [origin + (c − c0)·keys, + keys) for
 * c ≥ 0, c0 = ceil(origin / keys), so cell 0 holds whatever precedes `origin` (a chat template's
 * prefix) and cell c0 + j the j-th `keys` tokens from `origin` on. `keys` is a multiple of the key tile.
 */
export interface CitationGrid {
  keys: number;
  origin: number;
}

/** The grid cell of position `position` (≥ 0). */
export function gridCell(grid: CitationGrid, position: number): number {
  return Math.floor((position - grid.origin) / grid.keys) + Math.ceil(grid.origin / grid.keys);
}

/**
 * Where a decode's splits went: partial LSEs [slots, rows, heads], and per KV span its slots on the
 * grid: slot j is split subOffset + j of cell firstCell's perCell splits, counted on from there.
 */
export interface DecodeSplits {
  lse: { buffer: GPUBuffer; offset: number; size: number };
  spans: { slots: number; slotBase: number; firstCell: number; subOffset: number; perCell: number }[];
}

/**
 * Keys per split on a citation grid: the cell when the natural split is as large; else the largest
 * divisor of the cell that is at most the natural split, so a short cache still spreads over as many
 * workgroups as without citations.
 */
function gridSplit(grid: CitationGrid, natural: number): number {
  if (!(Number.isInteger(grid.keys) && grid.keys > 0)) throw new Error(`Citation spans of ${grid.keys} keys must be a positive integer`);
  let split = Math.min(natural, grid.keys);
  while (grid.keys % split !== 0) split--;
  return split;
}

function decodePlan(gpu: DecodeDevice, shape: AttentionShape, rows: number, spans: readonly KvSpan[], grid?: CitationGrid): DecodePlan {
  const group = check(shape);
  const tiles = shape.tiles?.decode ?? decodeTiles(gpu, shape.headDim, rows * group, spanType(spans));
  const natural = shape.tiles?.splitKeys ?? decodeSplit(shape, tiles, rows, spans);
  const split = grid ? gridSplit(grid, natural) : natural;
  if (!(Number.isInteger(split) && split > 0)) throw new Error(`splitKeys ${split} must be a positive integer`);
  const shifts = spans.map((s) => (grid ? (((s.firstPosition - grid.origin) % split) + split) % split : 0));
  const splits = spans.map((s, i) => (s.length === 0 ? 0 : Math.ceil((s.length + shifts[i]) / split)));
  const count = splits.reduce((a, b) => a + b, 0);
  const rowBytes = rows * shape.heads * 4;
  return {
    group,
    tiles,
    split,
    splits,
    shifts,
    oBytes: Math.max(bindingAlignment, Math.ceil((count * rowBytes * shape.headDim) / bindingAlignment) * bindingAlignment),
    lseBytes: Math.max(4, count * rowBytes),
  };
}

/**
 * Keys per split: enough splits to fill the GPU, not more partials for the longest span than the merge
 * should read, whole steps of keys (the subgroup kernel: a few batches of its key groups at least).
 */
function decodeSplit(shape: AttentionShape, tiles: DecodeTiles, rows: number, spans: readonly KvSpan[]): number {
  const keys = spans.reduce((n, s) => n + s.length, 0);
  const longest = spans.reduce((n, s) => Math.max(n, s.length), 0);
  const queryTiles = Math.ceil((rows * (shape.heads / shape.kvHeads)) / tiles.rows);
  const layout = tiles.subgroups;
  const step = layout ? (layout.threads / layout.keyLanes) * layout.unroll : decodeKeysPerStep;
  const [wanted, least, partials] = layout
    ? [subgroupWorkgroupsWanted, subgroupStepsPerSplit * step, maxSubgroupPartials]
    : [decodeWorkgroupsWanted, decodeKeysPerStep, maxDecodePartials];
  const forWorkgroups = Math.ceil((keys * shape.kvHeads * queryTiles) / wanted);
  const split = Math.max(least, forWorkgroups, Math.ceil(longest / partials));
  return Math.ceil(split / step) * step;
}

/** How attentionDecode lays out `rows` query rows over one span of `keys` keys of `kvType` (the benchmarks' report). */
export function decodeChoice(
  gpu: DecodeDevice,
  shape: AttentionShape,
  rows: number,
  keys: number,
  kvType: KvType = 'f16',
): { tileRows: number; splitKeys: number; partials: number; subgroups?: DecodeSubgroupLayout } {
  const span = { start: 0, length: keys, firstPosition: 0, dtype: kvType } as KvSpan;
  const plan = decodePlan(gpu, shape, rows, [span]);
  return { tileRows: plan.tiles.rows, splitKeys: plan.split, partials: plan.splits[0], ...(plan.tiles.subgroups ? { subgroups: plan.tiles.subgroups } : {}) };
}

/** Scratch bytes attentionDecode needs on this device for these rows and spans, with or without a
 *  citation grid (allocate once, for the longest cache). */
export function decodeScratchBytes(gpu: DecodeDevice, shape: AttentionShape, rows: number, spans: readonly KvSpan[], grid?: CitationGrid): number {
  const plan = decodePlan(gpu, shape, rows, spans, grid);
  return plan.oBytes + plan.lseBytes;
}

/** Attention for few query rows (decode: 1 row) over many spans (a long cache in several chunks): each span is split across
 *  workgroups (split-KV / flash-decoding), partials go to `scratch`, then lseMerge. Writes out.
 *  Provide `decodeScratchBytes(shape, rows, spans, grid)` so the caller can allocate scratch once.
 *  With a citation grid the splits tile its cells (same result, other rounding of the partial sums);
 *  returns where the splits' LSEs are, for attentionCitations (valid until scratch is reused). */
export function attentionDecode(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  shape: AttentionShape,
  query: DecodeQueryRows,
  spans: readonly KvSpan[],
  scratch: GPUBuffer,
  out: AttentionOutput,
  grid?: CitationGrid,
): DecodeSplits {
  const plan = decodePlan(gpu, shape, query.rows, spans, grid);
  const { group, tiles } = plan;
  if (scratch.size < plan.oBytes + plan.lseBytes) {
    throw new Error(`Decode scratch of ${scratch.size} bytes is smaller than the ${plan.oBytes + plan.lseBytes} needed`);
  }
  const partials = {
    o: { buffer: scratch, offset: 0, size: plan.oBytes },
    lse: { buffer: scratch, offset: plan.oBytes, size: plan.lseBytes },
  };
  const pipeline = decodePipeline(gpu, shape, tiles, spanType(spans));
  const queryTiles = Math.ceil((query.rows * group) / tiles.rows);
  let base = 0;
  const cells: DecodeSplits['spans'] = [];
  spans.forEach((span, i) => {
    const params = gpu.uniform(
      uniformFields(decodeParams, {
        rows: query.rows,
        heads: shape.heads,
        kv_heads: shape.kvHeads,
        group,
        kv_start: span.start,
        kv_length: span.length,
        kv_first: span.firstPosition,
        scale: shape.scale,
        split: plan.split,
        partial_base: base,
        split_shift: plan.shifts[i],
      }),
    );
    const resources = [params, query.q, span.keys, span.values, partials.o, partials.lse, query.positions];
    gpu.dispatch(encoder, pipeline, resources, [plan.splits[i], queryTiles, shape.kvHeads]);
    if (grid) {
      const first = span.firstPosition - plan.shifts[i]; // where slot 0's keys would start: a split boundary
      const perCell = grid.keys / plan.split;
      const subOffset = ((((first - grid.origin) / plan.split) % perCell) + perCell) % perCell;
      cells.push({ slots: plan.splits[i], slotBase: base, firstCell: gridCell(grid, first), subOffset, perCell });
    }
    base += plan.splits[i];
  });
  lseMerge(gpu, encoder, shape, partials, base, query.rows, out);
  return { lse: partials.lse, spans: cells };
}

/** The decode kernel of these tiles, or an error saying why this device cannot run them. */
function decodePipeline(gpu: Gpu, shape: AttentionShape, tiles: DecodeTiles, kvType: KvType): GPUComputePipeline {
  const masking = { WINDOW: shape.window ?? 0, SOFTCAP: shape.softcap ?? 0 };
  const options = { includes: kvIncludes(kvType), structs: { Params: decodeParams } };
  const layout = tiles.subgroups;
  if (layout) {
    const problem = tiles.rows > 16 ? `${tiles.rows} rows a tile are more than 16` : subgroupLayoutProblem(gpu, shape.headDim, kvType, layout);
    if (problem) throw new Error(`Decode on subgroups with ${JSON.stringify(tiles)} cannot run here: ${problem}`);
    const laneVecs = (shape.headDim * kvElementBytes(kvType)) / (16 * layout.keyLanes);
    const shared = { HEAD_DIM: shape.headDim, ROWS: tiles.rows, KEY_LANES: layout.keyLanes, LANE_VECS: laneVecs, UNROLL: layout.unroll, THREADS: layout.threads };
    return gpu.pipeline('attention_decode_subgroups', { ...options, constants: masking, shared });
  }
  const workgroupBytes = 4 * (tiles.rows * (shape.headDim + decodeKeysPerStep + 3) + 1 + decodeKeysPerStep);
  // Each row's softmax takes 64 / rows invocations (LANES in shaders/attention_decode.wgsl).
  if (tiles.rows > 16 || decodeKeysPerStep % tiles.rows !== 0 || workgroupBytes > gpu.device.limits.maxComputeWorkgroupStorageSize) {
    throw new Error(`Decode tile ${JSON.stringify(tiles)} does not fit headDim ${shape.headDim} on this device`);
  }
  const shared = decodeLoadBatches(gpu);
  return gpu.pipeline('attention_decode', { ...options, constants: { HEAD_DIM: shape.headDim, ROWS: tiles.rows, ...masking }, shared });
}

/**
 * Loads the workgroup-memory decode kernel issues before using them: on a GPU, a key row's 32 words and
 * 16 keys' values, to keep memory busy; on a CPU adapter 8 and 4, which it runs as fast (its loads do
 * not wait on a memory system) and compiles ~10× faster (lavapipe unrolls the loops over them: 38 s
 * against 3 s for one shape with a cold shader cache).
 */
function decodeLoadBatches(gpu: DecodeDevice): { KEY_WORDS: number; VALUE_BATCH: number } {
  return gpu.adapter.runsOnCpu ? { KEY_WORDS: 8, VALUE_BATCH: 4 } : { KEY_WORDS: 32, VALUE_BATCH: 16 };
}

/**
 * Where attentionCitations adds its shares: rows of `cells` f32, the query row at position
 * `firstPosition` going to row 0 (the rows' positions are read on the GPU, as decoding's are, so that
 * a decoded token's commands serve the next one).
 */
export interface CitationTable {
  shares: GPUBuffer;
  firstPosition: number;
  rows: number;
  cells: number;
  /** Factor on each head's share: 1 / (heads · layers cited) averages them. */
  weight: number;
}

/**
 * Adds each split's share of attention, exp(s_split − s) summed over heads times table.weight, to its
 * grid cell in `table` (see attention_citations.wgsl); `lse` is the merged LSE [rows, heads] over all
 * of the query's keys (every host's). Changes nothing the attention wrote.
 */
export function attentionCitations(
  gpu: Gpu,
  encoder: GPUCommandEncoder,
  shape: AttentionShape,
  splits: DecodeSplits,
  lse: GPUBuffer,
  query: { rows: number; positions: GPUBuffer },
  table: CitationTable,
): void {
  const pipeline = gpu.pipeline('attention_citations', { structs: { Params: citationParams } });
  const { rows } = query;
  splits.spans.forEach((span) => {
    const params = gpu.uniform(
      uniformFields(citationParams, {
        slots: span.slots,
        slot_base: span.slotBase,
        first_cell: span.firstCell,
        sub_offset: span.subOffset,
        per_cell: span.perCell,
        rows,
        heads: shape.heads,
        first_position: table.firstPosition,
        table_rows: table.rows,
        cells: table.cells,
        weight: table.weight,
      }),
    );
    const cells = Math.ceil((span.subOffset + span.slots) / span.perCell);
    gpu.dispatch(encoder, pipeline, [params, splits.lse, lse, table.shares, query.positions], [Math.ceil(cells / 64), rows]);
  });
}
