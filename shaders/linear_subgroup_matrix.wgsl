// Linear layer for many rows on tensor cores (subgroup matrices): the product of shaders/linear.wgsl
// with X and W rounded to f16 and f32 accumulation. Layout, bindings and the K-slice pipeline:
// shaders/linear_tiles.wgsl. Needs chromium-experimental-subgroup-matrix with the f16 16x16x16 -> f32
// shape and subgroups of exactly 32 invocations (linear.ts checks both).
//
// Each workgroup computes a TILE_M x TILE_N tile of Y with SG_M x SG_N subgroups; each subgroup a
// 32 x 64 block of it as 2 x 4 fragments of 16 x 16. Slices are staged in f16, row-major ([m][k] and
// [n][k]), where the subgroups load their fragments. Results go to Y through a per-subgroup 16 x 16
// scratch, so that bias and bounds are applied per element.

enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
// Fragment offsets depend on the subgroup's index in the workgroup (local index / 32), uniform within
// each subgroup since subgroups are 32 consecutive invocations, but not provably so to Tint.
diagnostic(off, chromium.subgroup_matrix_uniformity);

//#include linear_tiles

const SUBGROUP = 32u;
const FRAG = 16u;      // the 16x16x16 shape
const BLOCK_M = 32u;   // rows of Y per subgroup: 2 fragments
const BLOCK_N = 64u;   // columns of Y per subgroup: 4 fragments
const MAX_SG_M = 4u;
const MAX_SG_N = 2u;
const MAX_TILE_K = 64u;

override SG_M: u32 = 4u;      // subgroups along M, at most MAX_SG_M
override SG_N: u32 = 2u;      // subgroups along N, at most MAX_SG_N
override TILE_K: u32 = 64u;   // a multiple of 16, at most MAX_TILE_K
// Staged rows are padded by 8 halves (16 bytes) so that fragment loads of consecutive rows start in
// different memory banks.
override STRIDE = TILE_K + 8u;
override THREADS = SG_M * SG_N * SUBGROUP;
override TILE_M = SG_M * BLOCK_M;
override TILE_N = SG_N * BLOCK_N;
override X_LOADS = TILE_M * TILE_K / 4u / THREADS;
override W_LOADS = TILE_N * TILE_K / 4u / THREADS;

// subgroupMatrixLoad and Store take arrays of a fixed size: these are sized for the largest tile.
var<workgroup> x_tile: array<f16, MAX_SG_M * BLOCK_M * (MAX_TILE_K + 8u)>; // [m][k]
var<workgroup> w_tile: array<f16, MAX_SG_N * BLOCK_N * (MAX_TILE_K + 8u)>; // [n][k]
var<workgroup> out_tile: array<f32, MAX_SG_M * MAX_SG_N * FRAG * FRAG>; // [subgroup][16 x 16]

alias Left = subgroup_matrix_left<f16, FRAG, FRAG>;
alias Right = subgroup_matrix_right<f16, FRAG, FRAG>;
alias Result = subgroup_matrix_result<f32, FRAG, FRAG>;

fn stage_x(r: u32, c: u32, v: vec4<f32>) {
  let h = vec4<f16>(v);
  for (var j = 0u; j < 4u; j++) { x_tile[r * STRIDE + c + j] = h[j]; }
}

fn stage_w(r: u32, c: u32, v: vec4<f32>) {
  let h = vec4<f16>(v);
  for (var j = 0u; j < 4u; j++) { w_tile[r * STRIDE + c + j] = h[j]; }
}

/** Rows row..row+15 of the staged X slice at k..k+15. */
fn left(row: u32, k: u32) -> Left {
  return subgroupMatrixLoad<Left, row_major>(&x_tile, row * STRIDE + k, STRIDE);
}

/** Columns col..col+15 of Y at k..k+15: W's rows, so the staged [n][k] slice read column-major. */
fn right(col: u32, k: u32) -> Right {
  return subgroupMatrixLoad<Right, col_major>(&w_tile, col * STRIDE + k, STRIDE);
}

/** Writes fragment `c`, at rows m and columns n of this dispatch's part of Y, through the subgroup's scratch. */
fn write_fragment(c: Result, sg: u32, lane: u32, m: u32, n: u32) {
  subgroupMatrixStore<row_major>(&out_tile, sg * FRAG * FRAG, c, FRAG);
  workgroupBarrier();
  for (var e = lane; e < FRAG * FRAG; e += SUBGROUP) {
    write_y(m + e / FRAG, n + e % FRAG, out_tile[sg * FRAG * FRAG + e]);
  }
  workgroupBarrier();
}

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) thread: u32) {
  let m0 = group.y * TILE_M;
  let n0 = group.x * TILE_N;
  let sg = thread / SUBGROUP;
  let lane = thread % SUBGROUP;
  let bm = (sg / SG_N) * BLOCK_M; // this subgroup's block within the tile
  let bn = (sg % SG_N) * BLOCK_N;

  // The 2 x 4 fragments by name: with them in an array (indexed in loops over override counts) the
  // kernel ran 2.5x slower on the H200 (bench/results/h200-prefill-kernels.md), not kept in registers.
  var c00: Result; var c01: Result; var c02: Result; var c03: Result;
  var c10: Result; var c11: Result; var c12: Result; var c13: Result;

  var next = fetch_slices(m0, n0, 0u, thread);
  for (var k0 = 0u; k0 < p.ins; k0 += TILE_K) {
    workgroupBarrier(); // the previous slice is no longer read
    stage_slices(next, thread);
    workgroupBarrier();
    if (k0 + TILE_K < p.ins) { next = fetch_slices(m0, n0, k0 + TILE_K, thread); }

    for (var k = 0u; k < TILE_K; k += FRAG) {
      let a0 = left(bm, k);
      let a1 = left(bm + FRAG, k);
      let b0 = right(bn, k);
      let b1 = right(bn + FRAG, k);
      let b2 = right(bn + 2u * FRAG, k);
      let b3 = right(bn + 3u * FRAG, k);
      c00 = subgroupMatrixMultiplyAccumulate(a0, b0, c00);
      c01 = subgroupMatrixMultiplyAccumulate(a0, b1, c01);
      c02 = subgroupMatrixMultiplyAccumulate(a0, b2, c02);
      c03 = subgroupMatrixMultiplyAccumulate(a0, b3, c03);
      c10 = subgroupMatrixMultiplyAccumulate(a1, b0, c10);
      c11 = subgroupMatrixMultiplyAccumulate(a1, b1, c11);
      c12 = subgroupMatrixMultiplyAccumulate(a1, b2, c12);
      c13 = subgroupMatrixMultiplyAccumulate(a1, b3, c13);
    }
  }

  let m = m0 + bm;
  let n = n0 + bn;
  write_fragment(c00, sg, lane, m, n);
  write_fragment(c01, sg, lane, m, n + FRAG);
  write_fragment(c02, sg, lane, m, n + 2u * FRAG);
  write_fragment(c03, sg, lane, m, n + 3u * FRAG);
  write_fragment(c10, sg, lane, m + FRAG, n);
  write_fragment(c11, sg, lane, m + FRAG, n + FRAG);
  write_fragment(c12, sg, lane, m + FRAG, n + 2u * FRAG);
  write_fragment(c13, sg, lane, m + FRAG, n + 3u * FRAG);
}
