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
// head dim 128, 32 keys; 48 640 bytes with the tile's own array).
const MAX_ROWS = 64u;
const MAX_HEAD_DIM = 128u;
const MAX_KEYS = 32u;
var<workgroup> q_tile: array<f16, MAX_ROWS * (MAX_HEAD_DIM + PAD)>; // [row][d], times scale
var<workgroup> k_tile: array<f16, MAX_KEYS * (MAX_HEAD_DIM + PAD)>; // [key][d]
var<workgroup> v_tile: array<f16, MAX_KEYS * (MAX_HEAD_DIM + PAD)>; // [key][d]
var<workgroup> s_tile: array<f32, MAX_ROWS * SCRATCH>;              // [row][32] scratch: S, then O
var<workgroup> p_tile: array<f16, MAX_ROWS * (MAX_KEYS + PAD)>;     // [row][key]

// Rows 16 at `offset` of Q, by 16 dimensions.
fn frag_q(offset: u32) -> Left { return subgroupMatrixLoad<Left, row_major>(&q_tile, offset, STRIDE); }
// Kᵀ by 16 keys at `offset` (key row, dimension): Kᵀ's column n is key n's row, read column-major.
fn frag_k(offset: u32) -> Right { return subgroupMatrixLoad<Right, col_major>(&k_tile, offset, STRIDE); }
fn frag_p(offset: u32) -> Left { return subgroupMatrixLoad<Left, row_major>(&p_tile, offset, P_STRIDE); }
fn frag_v(offset: u32) -> Right { return subgroupMatrixLoad<Right, row_major>(&v_tile, offset, STRIDE); }
fn frag_scratch(offset: u32) -> Result { return subgroupMatrixLoad<Result, row_major>(&s_tile, offset, SCRATCH); }
fn frag_store_scratch(offset: u32, m: Result) { subgroupMatrixStore<row_major>(&s_tile, offset, m, SCRATCH); }
fn frag_mma(a: Left, b: Right, c: Result) -> Result { return subgroupMatrixMultiplyAccumulate(a, b, c); }
