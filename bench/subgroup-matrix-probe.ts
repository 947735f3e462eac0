// `node --import tsx bench/subgroup-matrix-probe.ts [--no-tile]`: each subgroup-matrix operation of the
// tensor-core flash tile (shaders/flash_fragments.wgsl, shaders/flash_tile_tensor_cores.wgsl) alone on
// this device, against what the extension's spec says it computes, then the whole tile's checks
// (bench/attention-tensor-cores.ts --checks-only; --no-tile skips them). Prints a table; exits 0 whatever
// it finds (the tile's checks print their own verdict), also on an adapter without subgroup matrices.
//
// Why: on an H100 the first version of the tile got right LSEs (so Q·Kᵀ and the softmax were right) but
// wrong O, with errors up to 1e3 and NaN with 4 subgroups, while shaders/flash_fragments_emulated.wgsl
// (the same tile with the fragments in plain WGSL) passes on lavapipe with 1 and 4 subgroups. Its P·V
// used two operations nothing else had used on that GPU: V as a row-major right operand, and result
// fragments loaded back from workgroup memory (to rescale O). The tile now uses only the operations
// Q·Kᵀ and linear_subgroup_matrix.wgsl use; this probe says which of the old ones were wrong.
//
// Spec (Dawn docs/dawn/features/subgroup_matrix.md, "Loading and storing"): with offset and stride in
// elements of the array, a row-major load gives M[r][c] = a[offset + r·stride + c], a column-major one
// M[r][c] = a[offset + c·stride + r]. Left is M×K (rows × columns), right K×N, result M×N. Each case
// loads one 16×16 operand whose elements are all different (a[i] = i mod 2048, exact in f16), multiplies
// it by the identity loaded the way the tile loads operands that are known to work (so the product is
// the operand itself; a result operand goes on as loaded), stores it row-major into workgroup memory as the tile stores its
// scores, and compares each element with the spec's. Subgroup s loads at an offset of its own, as the
// tile's subgroups do (s·16 lines of `stride`, plus 16): a failure only with 4 subgroups points there.
import { spawnSync } from 'node:child_process';
import { Gpu } from '../src/gpu/gpu.ts';
import { hasTensorCores } from '../src/gpu/kernels/tensor-cores.ts';
import { f32ToF16Bits } from '../src/model/dtype.ts';

type Operand = 'left' | 'right' | 'result';
type Major = 'row_major' | 'col_major';
type Source = 'workgroup' | 'storage';

interface LoadCase {
  operand: Operand;
  major: Major;
  source: Source;
  stride: number;
  /**
   * The operand in the place of the tile's P or Vᵀ among arrays of the sizes of the tile's (48 KB of
   * workgroup memory in use), rather than in a small array of its own.
   */
  place?: 'p_tile' | 'vt_tile';
  /** Where the tile does this, or did before the fix. */
  like: string;
}

interface Outcome {
  pass: boolean;
  detail: string;
}

const SG = 32;
const FRAG = 16;
/** The scratch the result goes through: 32 f32 columns per row, 16 rows per subgroup (the tile's s_tile). */
const SCRATCH = 32;

const gpu = await Gpu.create();
console.log(`# Subgroup-matrix probe\n\nAdapter: \`${gpu.adapter.description}\`, subgroups ${gpu.adapter.subgroupSizes.min}–${gpu.adapter.subgroupSizes.max}.`);
if (!hasTensorCores(gpu)) {
  console.log(
    'This adapter has no f16 16×16×16 → f32 subgroup matrices with subgroups of 32 (chromium-experimental-subgroup-matrix): nothing to probe. ' +
      `Configs: ${JSON.stringify(gpu.adapter.subgroupMatrixConfigs)}.`,
  );
  gpu.destroy();
  process.exit(0);
}

const header = `enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium.subgroup_matrix_uniformity);
alias Left = subgroup_matrix_left<f16, 16, 16>;
alias Right = subgroup_matrix_right<f16, 16, 16>;
alias Result = subgroup_matrix_result<f32, 16, 16>;
`;

/**
 * The tile's workgroup arrays (shaders/flash_fragments.wgsl, then the tile's pair_tile), in halves or
 * floats: a case with a `place` declares these, its operand being the one named.
 */
const tileArrays = [
  { name: 'q_tile', type: 'f16', length: 64 * 136 },
  { name: 'k_tile', type: 'f16', length: 32 * 136 },
  { name: 'vt_tile', type: 'f16', length: 128 * 32 },
  { name: 's_tile', type: 'f32', length: 64 * 32 },
  { name: 'p_tile', type: 'f16', length: 64 * 40 },
] as const;

/** The operand array's length: for `subgroups` operands at lines s·16 (+16 columns) of `stride`, or its place's. */
function caseLength(c: LoadCase, subgroups: number): number {
  return c.place ? tileArrays.find((a) => a.name === c.place)!.length : (FRAG * subgroups + 1) * c.stride;
}

function operandOffset(sg: number, stride: number): number {
  return sg * FRAG * stride + Math.min(FRAG, stride - FRAG);
}

/** a[i] = i mod 2048: every element of one operand differs from the others, and f16 holds it exactly. */
function patternValue(i: number): number {
  return i % 2048;
}

/** What the spec says element (r, c) of the loaded operand is: its index in the array. */
function specIndex(major: Major, offset: number, stride: number, r: number, c: number): number {
  return major === 'row_major' ? offset + r * stride + c : offset + c * stride + r;
}

/**
 * The kernel of one load case: stages the pattern (and the identity) in workgroup memory by plain
 * per-invocation stores, as the tile stages Q, K, V and P; each subgroup loads its operand, multiplies it
 * by the identity (or, for a result, takes it as it is) and stores it to its rows of the scratch; the
 * scratch goes to `out`, 256 floats per subgroup.
 */
function loadKernel(c: LoadCase, subgroups: number): string {
  const length = caseLength(c, subgroups);
  const element = c.operand === 'result' ? 'f32' : 'f16';
  const type = c.operand === 'left' ? 'Left' : c.operand === 'right' ? 'Right' : 'Result';
  const source = c.source === 'workgroup' ? '&tile' : '&src_h';
  const load = `subgroupMatrixLoad<${type}, ${c.major}>(${source}, offset, ${c.stride}u)`;
  // In its place among the tile's arrays, the others zeroed (as the tile writes all of them), the
  // scratch where the tile's s_tile is; or alone.
  const others = tileArrays.filter((a) => a.name !== c.place && a.name !== 's_tile');
  const arrays = c.place
    ? [
        ...tileArrays.map((a) =>
          a.name === c.place ? `var<workgroup> tile: array<f16, LENGTH>;` : a.name === 's_tile' ? `var<workgroup> scratch: array<f32, ${a.length}u>;` : `var<workgroup> ${a.name}: array<${a.type}, ${a.length}u>;`,
        ),
        'var<workgroup> identity: array<f16, 256>;',
      ].join('\n')
    : `var<workgroup> tile: array<${element}, LENGTH>;\nvar<workgroup> identity: array<f16, 256>;\nvar<workgroup> scratch: array<f32, SUBGROUPS * ${FRAG * SCRATCH}u>;`;
  const fills = c.place ? others.map((a) => `\n  for (var e = t; e < ${a.length}u; e += ${SG}u * SUBGROUPS) { ${a.name}[e] = ${a.type}(0); }`).join('') : '';
  // The identity, loaded the ways known to work: left row-major (as Q), right column-major (as K).
  const product =
    c.operand === 'left'
      ? `var zero: Result;\n  let m = subgroupMatrixMultiplyAccumulate(${load}, subgroupMatrixLoad<Right, col_major>(&identity, 0u, 16u), zero);`
      : c.operand === 'right'
        ? `var zero: Result;\n  let m = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<Left, row_major>(&identity, 0u, 16u), ${load}, zero);`
        : `let m = ${load};`;
  return `${header}
const SUBGROUPS = ${subgroups}u;
const LENGTH = ${length}u;
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> src_h: array<${element}>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${arrays}

@compute @workgroup_size(${SG} * SUBGROUPS)
fn main(@builtin(local_invocation_index) t: u32) {
  for (var e = t; e < LENGTH; e += ${SG}u * SUBGROUPS) { tile[e] = ${element}(src[e]); }${fills}
  for (var e = t; e < 256u; e += ${SG}u * SUBGROUPS) { identity[e] = select(0.0h, 1.0h, e / 16u == e % 16u); }
  workgroupBarrier();
  let sg = t / ${SG}u;
  let offset = sg * ${FRAG}u * ${c.stride}u + ${Math.min(FRAG, c.stride - FRAG)}u;
  ${product}
  subgroupMatrixStore<row_major>(&scratch, sg * ${FRAG * SCRATCH}u, m, ${SCRATCH}u);
  workgroupBarrier();
  for (var e = t % ${SG}u; e < 256u; e += ${SG}u) { out[sg * 256u + e] = scratch[sg * ${FRAG * SCRATCH}u + (e / 16u) * ${SCRATCH}u + e % 16u]; }
}
`;
}

/** The kernel's pipeline, or why there is none. */
async function compile(code: string): Promise<GPUComputePipeline | string> {
  gpu.device.pushErrorScope('validation');
  const module = gpu.device.createShaderModule({ code });
  const pipeline = gpu.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const error = await gpu.device.popErrorScope();
  return error ? `does not compile: ${error.message.split('\n')[0]}` : pipeline;
}

/** Runs a load case's kernel over the pattern; `out` read back, or the error that stopped it. */
async function runKernel(code: string, subgroups: number, length: number, element: 'f16' | 'f32', source: Source): Promise<Float32Array | string> {
  const pipeline = await compile(code);
  if (typeof pipeline === 'string') return pipeline;
  const values = Float32Array.from({ length }, (_, i) => patternValue(i));
  const src = gpu.upload(values);
  const halves = element === 'f16' ? f32ToF16Bits(values) : values;
  const srcH = gpu.upload(halves);
  const out = gpu.buffer(subgroups * 256 * 4);
  // A kernel loading from workgroup memory does not use src_h, which its layout then leaves out.
  gpu.run((encoder) => gpu.dispatch(encoder, pipeline, [src, source === 'storage' ? srcH : undefined, out], [1]));
  return gpu.readF32(out);
}

/**
 * Whether subgroup s's 16×16 in `got` is what the spec says; if not, which simple misreading it is
 * (the other majorness, another subgroup's offset, offset 0, another stride), else the first mismatches.
 */
function judge(got: Float32Array, major: Major, stride: number, subgroups: number, length: number): Outcome {
  const other: Major = major === 'row_major' ? 'col_major' : 'row_major';
  const candidates: Array<{ name: string; major: Major; stride: number; offset: (s: number) => number }> = [];
  for (const m of [major, other]) {
    const as = m === major ? '' : `read ${m} (transposed)`;
    candidates.push({ name: as, major: m, stride, offset: (s) => operandOffset(s, stride) });
    candidates.push({ name: `${as || `read ${m}`} at offset 0`, major: m, stride, offset: () => 0 });
    candidates.push({ name: `${as || `read ${m}`} at subgroup 0's offset`, major: m, stride, offset: () => operandOffset(0, stride) });
    for (const s2 of [16, stride * 2, stride / 2]) {
      if (Number.isInteger(s2) && s2 !== stride) candidates.push({ name: `${as || `read ${m}`} with stride ${s2}`, major: m, stride: s2, offset: (s) => operandOffset(s, stride) });
    }
  }
  const expected = (cand: (typeof candidates)[number], s: number, r: number, c: number) => {
    const i = specIndex(cand.major, cand.offset(s), cand.stride, r, c);
    return i < length ? patternValue(i) : NaN;
  };
  const matches = (cand: (typeof candidates)[number]) => {
    for (let s = 0; s < subgroups; s++) {
      for (let r = 0; r < FRAG; r++) for (let c = 0; c < FRAG; c++) if (got[s * 256 + r * FRAG + c] !== expected(cand, s, r, c)) return false;
    }
    return true;
  };
  if (matches(candidates[0])) return { pass: true, detail: '' };
  const guess = candidates.slice(1).find(matches);
  if (guess) return { pass: false, detail: `as if ${guess.name}` };
  if (got.every((v) => v === 0)) return { pass: false, detail: 'all zero' };
  const mismatches: string[] = [];
  const badSubgroups = new Set<number>();
  for (let s = 0; s < subgroups; s++) {
    for (let r = 0; r < FRAG; r++) {
      for (let c = 0; c < FRAG; c++) {
        const g = got[s * 256 + r * FRAG + c];
        const want = expected(candidates[0], s, r, c);
        if (g === want) continue;
        badSubgroups.add(s);
        if (mismatches.length < 4) {
          const at = Number.isInteger(g) && g >= 0 && g < 2048 ? ` (= a[${g}${g + 2048 < length ? ` or +2048k` : ''}], line ${Math.floor(g / stride)} col ${g % stride})` : '';
          mismatches.push(`sg ${s} (${r},${c}): got ${g}${at}, want ${want}`);
        }
      }
    }
  }
  return { pass: false, detail: `subgroups ${[...badSubgroups].join(',')} wrong; ${mismatches.join('; ')}` };
}

const loadCases: LoadCase[] = [
  { operand: 'left', major: 'row_major', source: 'workgroup', stride: 72, like: 'Q (head dim 64), works in Q·Kᵀ' },
  { operand: 'left', major: 'row_major', source: 'workgroup', stride: 40, like: 'P (32 keys); Q (head dim 32)' },
  { operand: 'left', major: 'row_major', source: 'workgroup', stride: 24, like: 'P (16 keys)' },
  { operand: 'left', major: 'row_major', source: 'workgroup', stride: 40, place: 'p_tile', like: "P (32 keys) in p_tile's place" },
  { operand: 'left', major: 'row_major', source: 'workgroup', stride: 24, place: 'p_tile', like: "P (16 keys) in p_tile's place" },
  { operand: 'left', major: 'col_major', source: 'workgroup', stride: 40, like: 'not used' },
  { operand: 'right', major: 'col_major', source: 'workgroup', stride: 72, like: 'K (head dim 64), works in Q·Kᵀ' },
  { operand: 'right', major: 'col_major', source: 'workgroup', stride: 40, like: 'Vᵀ now (32 keys)' },
  { operand: 'right', major: 'col_major', source: 'workgroup', stride: 32, like: 'Vᵀ now (head dim 128, 32 keys)' },
  { operand: 'right', major: 'col_major', source: 'workgroup', stride: 24, like: 'Vᵀ now (16 keys)' },
  { operand: 'right', major: 'col_major', source: 'workgroup', stride: 40, place: 'vt_tile', like: "Vᵀ now (32 keys) in vt_tile's place" },
  { operand: 'right', major: 'row_major', source: 'workgroup', stride: 72, like: 'V before the fix (head dim 64)' },
  { operand: 'right', major: 'row_major', source: 'workgroup', stride: 136, like: 'V before the fix (head dim 128)' },
  { operand: 'result', major: 'row_major', source: 'workgroup', stride: 32, like: "O's rescale before the fix" },
  { operand: 'result', major: 'col_major', source: 'workgroup', stride: 32, like: 'not used' },
  { operand: 'left', major: 'row_major', source: 'storage', stride: 40, like: 'not used (storage)' },
  { operand: 'left', major: 'col_major', source: 'storage', stride: 40, like: 'not used (storage)' },
  { operand: 'right', major: 'row_major', source: 'storage', stride: 40, like: 'not used (storage)' },
  { operand: 'right', major: 'col_major', source: 'storage', stride: 40, like: 'not used (storage)' },
];

const failures = new Map<string, string[]>();
console.log('\n## Loads (one 16×16 operand per subgroup, times the identity, stored row-major)\n');
console.log("| operand | majorness | from | stride | like the tile's | subgroups | result |");
console.log('|---|---|---|---|---|---|---|');
for (const c of loadCases) {
  for (const subgroups of [1, 4]) {
    const length = caseLength(c, subgroups);
    const got = await runKernel(loadKernel(c, subgroups), subgroups, length, c.operand === 'result' ? 'f32' : 'f16', c.source);
    const outcome: Outcome = typeof got === 'string' ? { pass: false, detail: got } : judge(got, c.major, c.stride, subgroups, length);
    const name = `${c.operand} ${c.major} from ${c.source}${c.place ? ` in ${c.place}'s place` : ''}`;
    if (!outcome.pass) failures.set(name, [...(failures.get(name) ?? []), `stride ${c.stride}, ${subgroups} subgroups: ${outcome.detail}`]);
    console.log(`| ${c.operand} | ${c.major} | ${c.source} | ${c.stride} | ${c.like} | ${subgroups} | ${outcome.pass ? 'PASS' : `FAIL: ${outcome.detail}`} |`);
  }
}

// The products themselves, with operands that are not the identity: A (row-major left) times B
// (column-major right, staged transposed) twice into a result that starts at zero, as the tile's
// fragments accumulate over 16-dimension or 16-key slices. Small integers: every sum is exact.
const aValue = (s: number, r: number, k: number) => ((r * 3 + k * 5 + s) % 7) - 3;
const bValue = (k: number, n: number) => ((k * 2 + n * 3) % 5) - 2;
async function multiplyCase(subgroups: number): Promise<Outcome> {
  const code = `${header}
const SUBGROUPS = ${subgroups}u;
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
var<workgroup> a_tile: array<f16, SUBGROUPS * 16u * 40u>; // [row][k], subgroup s at rows 16s…
var<workgroup> bt_tile: array<f16, 32u * 40u>;           // Bᵀ: [n][k], k 0…31
var<workgroup> scratch: array<f32, SUBGROUPS * ${FRAG * SCRATCH}u>;

fn product(sg: u32) -> Result {
  var m: Result;
  for (var k = 0u; k < 32u; k += 16u) {
    m = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<Left, row_major>(&a_tile, sg * 16u * 40u + k, 40u), subgroupMatrixLoad<Right, col_major>(&bt_tile, k, 40u), m);
  }
  return m;
}

@compute @workgroup_size(${SG} * SUBGROUPS)
fn main(@builtin(local_invocation_index) t: u32) {
  for (var e = t; e < SUBGROUPS * 16u * 32u; e += ${SG}u * SUBGROUPS) {
    let r = e / 32u;
    let k = e % 32u;
    a_tile[r * 40u + k] = f16(i32((r % 16u * 3u + k * 5u + r / 16u) % 7u) - 3);
  }
  for (var e = t; e < 16u * 32u; e += ${SG}u * SUBGROUPS) {
    let n = e / 32u;
    let k = e % 32u;
    bt_tile[n * 40u + k] = f16(i32((k * 2u + n * 3u) % 5u) - 2);
  }
  workgroupBarrier();
  let sg = t / ${SG}u;
  subgroupMatrixStore<row_major>(&scratch, sg * ${FRAG * SCRATCH}u, product(sg), ${SCRATCH}u);
  workgroupBarrier();
  for (var e = t % ${SG}u; e < 256u; e += ${SG}u) { out[sg * 256u + e] = scratch[sg * ${FRAG * SCRATCH}u + (e / 16u) * ${SCRATCH}u + e % 16u]; }
}
`;
  const pipeline = await compile(code);
  if (typeof pipeline === 'string') return { pass: false, detail: pipeline };
  const out = gpu.buffer(subgroups * 256 * 4);
  gpu.run((encoder) => gpu.dispatch(encoder, pipeline, [out], [1]));
  const got = await gpu.readF32(out);
  const mismatches: string[] = [];
  let transposed = true;
  const want = (s: number, r: number, n: number) => {
    let sum = 0;
    for (let k = 0; k < 32; k++) sum += aValue(s, r, k) * bValue(k, n);
    return sum;
  };
  for (let s = 0; s < subgroups; s++) {
    for (let r = 0; r < FRAG; r++) {
      for (let n = 0; n < FRAG; n++) {
        const g = got[s * 256 + r * FRAG + n];
        if (g !== want(s, n, r)) transposed = false;
        if (g !== want(s, r, n) && mismatches.length < 4) mismatches.push(`sg ${s} (${r},${n}): got ${g}, want ${want(s, r, n)}`);
      }
    }
  }
  if (mismatches.length === 0) return { pass: true, detail: '' };
  return { pass: false, detail: transposed ? 'the product transposed' : mismatches.join('; ') };
}

console.log('\n## Multiply-accumulate (16×32 by 32×16 as two 16×16×16 products into a zeroed result)\n');
console.log('| subgroups | result |');
console.log('|---|---|');
for (const subgroups of [1, 4]) {
  const outcome = await multiplyCase(subgroups);
  if (!outcome.pass) failures.set('multiply-accumulate', [...(failures.get('multiply-accumulate') ?? []), `${subgroups} subgroups: ${outcome.detail}`]);
  console.log(`| ${subgroups} | ${outcome.pass ? 'PASS' : `FAIL: ${outcome.detail}`} |`);
}

// P·V as the tile computes it, in its workgroup layout (the old one, 48 644 bytes, for the old ways; the
// new one, 48 128 bytes, for the tile now): each subgroup's 16 rows of P (16×32, from
// p_tile) times V (32 keys × 64 dimensions), 32 columns of O at a time through the scratch, read out by
// the rows' two invocations each. 'tile now': Vᵀ column-major, fresh fragments. The two ways of the
// tile before the fix, each alone: 'V row-major' (V staged [key][d], a row-major right operand), and
// 'result reloaded' (O's fragments stored, halved by the rows' invocations, loaded back and P·V added
// again: 1.5·P·V).
type PvPath = 'tile now' | 'V row-major' | 'result reloaded';
const pvValue = (i: number, seed: number) => (((i * 37 + seed * 11) % 129) - 64) / 64;

function pvKernel(path: PvPath, subgroups: number): string {
  const rowMajorV = path === 'V row-major';
  const vt = rowMajorV ? 'v_tile[k * 72u + d]' : 'v_tile[d * 40u + k]';
  const right = (f: string, kf: string) =>
    rowMajorV
      ? `subgroupMatrixLoad<Right, row_major>(&v_tile, ${kf} * 16u * 72u + ${f} * 16u, 72u)`
      : `subgroupMatrixLoad<Right, col_major>(&v_tile, ${f} * 16u * 40u + ${kf} * 16u, 40u)`;
  const reload =
    path === 'result reloaded'
      ? `
    subgroupMatrixStore<row_major>(&s_tile, sg * 512u + h * 16u, o, 32u);
    workgroupBarrier();
    for (var j = 0u; j < 8u; j++) { s_tile[row * 32u + h * 16u + side * 8u + j] *= 0.5; }
    workgroupBarrier();
    o = subgroupMatrixLoad<Result, row_major>(&s_tile, sg * 512u + h * 16u, 32u);
    workgroupBarrier();
    o = pv(o, sg, f);`
      : '';
  return `${header}
const SUBGROUPS = ${subgroups}u;
@group(0) @binding(0) var<storage, read> p_src: array<f32>; // [row][key]
@group(0) @binding(1) var<storage, read> v_src: array<f32>; // [key][d]
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [row][d]
${tileArrays.map((a) => `var<workgroup> ${a.name === 'vt_tile' ? 'v_tile' : a.name}: array<${a.type}, ${a.name === 'vt_tile' && path !== 'tile now' ? 32 * 136 : a.length}u>;`).join('\n')}
var<workgroup> pair_tile: array<f32, 128u>;${path === 'tile now' ? '' : '\nvar<workgroup> rescale_any: u32;'}

fn pv(acc: Result, sg: u32, f: u32) -> Result {
  var o = acc;
  for (var kf = 0u; kf < 2u; kf++) {
    o = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<Left, row_major>(&p_tile, sg * 16u * 40u + kf * 16u, 40u), ${right('f', 'kf')}, o);
  }
  return o;
}

fn fresh(sg: u32, f: u32) -> Result {
  var o: Result;
  return pv(o, sg, f);
}

@compute @workgroup_size(${SG} * SUBGROUPS)
fn main(@builtin(local_invocation_index) t: u32) {
  for (var e = t; e < ${64 * 136}u; e += ${SG}u * SUBGROUPS) { q_tile[e] = 0.0h; }
  for (var e = t; e < ${32 * 136}u; e += ${SG}u * SUBGROUPS) { k_tile[e] = 0.0h; }
  pair_tile[t] = 0.0;${path === 'tile now' ? '' : '\n  if (t == 0u) { rescale_any = 0u; }'}
  for (var e = t; e < SUBGROUPS * 16u * 32u; e += ${SG}u * SUBGROUPS) { p_tile[e / 32u * 40u + e % 32u] = f16(p_src[e]); }
  for (var e = t; e < 32u * 64u; e += ${SG}u * SUBGROUPS) {
    let k = e / 64u;
    let d = e % 64u;
    ${vt} = f16(v_src[e]);
  }
  workgroupBarrier();
  let sg = t / ${SG}u;
  let row = sg * 16u + (t % ${SG}u) / 2u;
  let side = t % 2u;
  for (var chunk = 0u; chunk < 2u; chunk++) {
    for (var h = 0u; h < 2u; h++) {
    let f = 2u * chunk + h;
    var o = fresh(sg, f);${reload}
    subgroupMatrixStore<row_major>(&s_tile, sg * 512u + h * 16u, o, 32u);
    }
    workgroupBarrier();
    for (var j = 0u; j < 16u; j++) { out[row * 64u + chunk * 32u + side * 16u + j] = s_tile[row * 32u + side * 16u + j]; }
    workgroupBarrier();
  }
}
`;
}

async function pvCase(path: PvPath, subgroups: number): Promise<Outcome> {
  const pipeline = await compile(pvKernel(path, subgroups));
  if (typeof pipeline === 'string') return { pass: false, detail: pipeline };
  const rows = 16 * subgroups;
  const p = Float32Array.from({ length: rows * 32 }, (_, i) => Math.abs(pvValue(i, 1)));
  const v = Float32Array.from({ length: 32 * 64 }, (_, i) => pvValue(i, 2));
  const out = gpu.buffer(rows * 64 * 4);
  gpu.run((encoder) => gpu.dispatch(encoder, pipeline, [gpu.upload(p), gpu.upload(v), out], [1]));
  const got = await gpu.readF32(out);
  const times = path === 'result reloaded' ? 1.5 : 1;
  const wrongRows = new Set<number>();
  let worst = '';
  let worstError = 0;
  for (let r = 0; r < rows; r++) {
    for (let d = 0; d < 64; d++) {
      let want = 0;
      for (let k = 0; k < 32; k++) want += p[r * 32 + k] * v[k * 64 + d];
      want *= times;
      const error = Math.abs(got[r * 64 + d] - want);
      if (!(error <= 1e-4 * 32)) {
        wrongRows.add(r);
        if (!(error <= worstError)) {
          worstError = Number.isNaN(error) ? Infinity : error;
          worst = `row ${r} (subgroup ${Math.floor(r / 16)}), column ${d}: got ${got[r * 64 + d]}, want ${want}`;
        }
      }
    }
  }
  if (wrongRows.size === 0) return { pass: true, detail: '' };
  return { pass: false, detail: `${wrongRows.size} of ${rows} rows wrong; worst ${worst}` };
}

console.log("\n## P·V as the tile computes it (16×32 P per subgroup times 32×64 V, in the tile's workgroup layout)\n");
console.log('| path | subgroups | result |');
console.log('|---|---|---|');
for (const path of ['tile now', 'V row-major', 'result reloaded'] as const) {
  for (const subgroups of [1, 4]) {
    const outcome = await pvCase(path, subgroups);
    if (!outcome.pass) failures.set(`P·V, ${path}`, [...(failures.get(`P·V, ${path}`) ?? []), `${subgroups} subgroups: ${outcome.detail}`]);
    console.log(`| ${path} | ${subgroups} | ${outcome.pass ? 'PASS' : `FAIL: ${outcome.detail}`} |`);
  }
}

// The verdict on the hypotheses of issue 13.
const verdict = (name: string, keys: string[]) => {
  const found = keys.flatMap((k) => (failures.get(k) ?? []).map((f) => `${k}, ${f}`));
  console.log(`- ${name}: ${found.length === 0 ? 'computes what the spec says here' : `WRONG here (${found.join(' | ')})`}`);
};
console.log('\n## Verdict\n');
verdict("V as a row-major right operand (the old tile's V; now Vᵀ column-major)", ['right row_major from workgroup', 'P·V, V row-major']);
verdict("Result fragments loaded from workgroup memory (the old tile's rescaling of O; now none)", ['result row_major from workgroup', 'P·V, result reloaded']);
verdict("P·V as the tile computes it now", ['P·V, tile now']);
verdict('P as a row-major left operand at its strides (unchanged)', ['left row_major from workgroup', "left row_major from workgroup in p_tile's place"]);
verdict('Right operands column-major, as K and now Vᵀ', ['right col_major from workgroup', "right col_major from workgroup in vt_tile's place"]);
verdict('The products, at per-subgroup offsets', ['multiply-accumulate']);
verdict('Loads from storage buffers (not used by the tile)', ['left row_major from storage', 'left col_major from storage', 'right row_major from storage', 'right col_major from storage']);
gpu.destroy();

if (!process.argv.includes('--no-tile')) {
  console.log('\n## The whole tile: bench/attention-tensor-cores.ts --checks-only\n');
  const tile = spawnSync(process.execPath, [...process.execArgv, new URL('./attention-tensor-cores.ts', import.meta.url).pathname, '--checks-only'], { stdio: 'inherit' });
  console.log(`\nbench/attention-tensor-cores.ts --checks-only exited with ${tile.status ?? tile.signal}.`);
}
process.exit(0);
