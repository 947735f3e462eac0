// The 16×16 fragments of flash_tile_tensor_cores.wgsl on tensor cores: its staging arrays in workgroup
// memory and the subgroup-matrix loads, stores and products on them (f16 × f16 → f32 16×16×16, a
// subgroup of 32 invocations per fragment). flash_fragments_emulated.wgsl has the same declarations in
// plain WGSL, for checking the tile on adapters without subgroup matrices.

enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
// Fragment offsets depend on the subgroup's index in the workgroup (local index / 32), uniform within
// each subgroup but not provably so to Tint.
diagnostic(off, chromium.subgroup_matrix_uniformity);

alias Staged = f16;
alias Left = subgroup_matrix_left<f16, 16, 16>;
alias Right = subgroup_matrix_right<f16, 16, 16>;
alias Result = subgroup_matrix_result<f32, 16, 16>;

fn to_staged(x: f32) -> Staged { return f16(x); }

// subgroupMatrixLoad and Store take arrays of a fixed size: these hold the largest tile (4 subgroups,
// head dim 128, 32 keys; 48 128 bytes with the tile's own array).
const MAX_ROWS = 64u;
const MAX_HEAD_DIM = 128u;
const MAX_KEYS = 32u;
// Vᵀ's rows are padded like the others where the array holds them (all tiles but head dim 128 with 32
// keys, whose fragment loads of Vᵀ then meet bank conflicts).
override VT_STRIDE: u32 = select(KEYS + PAD, KEYS, HEAD_DIM * (KEYS + PAD) > MAX_HEAD_DIM * MAX_KEYS);
var<workgroup> q_tile: array<f16, MAX_ROWS * (MAX_HEAD_DIM + PAD)>; // [row][d], times scale
var<workgroup> k_tile: array<f16, MAX_KEYS * (MAX_HEAD_DIM + PAD)>; // [key][d]
var<workgroup> vt_tile: array<f16, MAX_HEAD_DIM * MAX_KEYS>;        // [d][key]: Vᵀ
var<workgroup> s_tile: array<f32, MAX_ROWS * SCRATCH>;              // [row][32] scratch: S, then O
var<workgroup> p_tile: array<f16, MAX_ROWS * (MAX_KEYS + PAD)>;     // [row][key]

// Only the operations that linear_subgroup_matrix.wgsl and the scores S = Q·Kᵀ of this tile were seen
// to compute right on an H100 (bench/results/h100-2026-12-07-s5/b-attention-tensor-cores.md): row-major
// left operands, column-major right operands, row-major stores of results into workgroup memory. The
// products P·V are read the same ways (V staged transposed); no result is loaded. The first version,
// which read V as a row-major right operand and loaded O's fragments back from the scratch to rescale
// them, got wrong outputs there with right LSEs; bench/subgroup-matrix-probe.ts checks each operation.
// Rows 16 at `offset` of Q, by 16 dimensions.
fn frag_q(offset: u32) -> Left { return subgroupMatrixLoad<Left, row_major>(&q_tile, offset, STRIDE); }
// Kᵀ by 16 keys at `offset` (key row, dimension): Kᵀ's column n is key n's row, read column-major.
fn frag_k(offset: u32) -> Right { return subgroupMatrixLoad<Right, col_major>(&k_tile, offset, STRIDE); }
// P's 16 rows at `offset` (row, key), by 16 keys.
fn frag_p(offset: u32) -> Left { return subgroupMatrixLoad<Left, row_major>(&p_tile, offset, P_STRIDE); }
// V by 16 keys and 16 dimensions at `offset` (dimension, key) of Vᵀ: V's column n is Vᵀ's row n, read
// column-major as frag_k reads K.
fn frag_v(offset: u32) -> Right { return subgroupMatrixLoad<Right, col_major>(&vt_tile, offset, VT_STRIDE); }
fn frag_store_scratch(offset: u32, m: Result) { subgroupMatrixStore<row_major>(&s_tile, offset, m, SCRATCH); }
fn frag_mma(a: Left, b: Right, c: Result) -> Result { return subgroupMatrixMultiplyAccumulate(a, b, c); }
