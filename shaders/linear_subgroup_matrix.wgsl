// Linear layer for many rows on tensor cores (subgroup matrices): the product of shaders/linear.wgsl
// with X and W rounded to f16 and f32 accumulation. Layout, bindings and the K-slice pipeline:
// shaders/linear_tiles.wgsl. Needs chromium-experimental-subgroup-matrix with the f16 16x16x16 -> f32
// shape and subgroups of exactly 32 invocations (linear.ts checks both).
//
// Each workgroup computes a TILE_M x TILE_N tile of Y with SG_M x SG_N subgroups; each subgroup a
// block of FRAGS_M x FRAGS_N fragments of 16 x 16. Slices are staged in f16, row-major ([m][k] and
// [n][k]), where the subgroups load their fragments: per 16 of k, FRAGS_M + FRAGS_N fragment loads
// feed FRAGS_M x FRAGS_N multiply-accumulates. Results go to Y through a per-subgroup 16 x 16 scratch,
// so that bias and bounds are applied per element.

enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
// Fragment offsets depend on the subgroup's index in the workgroup (local index / 32), uniform within
// each subgroup since subgroups are 32 consecutive invocations, but not provably so to Tint.
diagnostic(off, chromium.subgroup_matrix_uniformity);

//#include linear_tiles

const SUBGROUP = 32u;
const FRAG = 16u;             // the 16x16x16 shape
const MAX_TILE_M = 128u;
const MAX_TILE_N = 128u;
const MAX_TILE_K = 64u;
const MAX_SUBGROUPS = 8u;
const MAX_FRAGS_M = 4u;
const MAX_FRAGS = 16u;        // FRAGS_M * FRAGS_N at most

override SG_M: u32 = 4u;      // subgroups along M
override SG_N: u32 = 2u;      // subgroups along N
override FRAGS_M: u32 = 2u;   // fragments per subgroup along M
override FRAGS_N: u32 = 4u;   // fragments per subgroup along N
override TILE_K: u32 = 64u;   // a multiple of 16
// Staged rows are padded by 8 halves (16 bytes) so that fragment loads of consecutive rows start in
// different memory banks.
override STRIDE = TILE_K + 8u;
override THREADS = SG_M * SG_N * SUBGROUP;
override TILE_M = SG_M * FRAGS_M * FRAG;
override TILE_N = SG_N * FRAGS_N * FRAG;
override X_LOADS = TILE_M * TILE_K / 4u / THREADS;
override W_LOADS = TILE_N * TILE_K / 4u / THREADS;

// subgroupMatrixLoad and Store take arrays of a fixed size: these are sized for the largest tile.
var<workgroup> x_tile: array<f16, MAX_TILE_M * (MAX_TILE_K + 8u)>; // [m][k]
var<workgroup> w_tile: array<f16, MAX_TILE_N * (MAX_TILE_K + 8u)>; // [n][k]
var<workgroup> out_tile: array<f32, MAX_SUBGROUPS * FRAG * FRAG>; // [subgroup][16 x 16]

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

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) thread: u32) {
  let m0 = group.y * TILE_M;
  let n0 = group.x * TILE_N;
  let sg = thread / SUBGROUP;
  let lane = thread % SUBGROUP;
  let bm = (sg / SG_N) * FRAGS_M * FRAG; // this subgroup's block within the tile
  let bn = (sg % SG_N) * FRAGS_N * FRAG;
  var acc: array<Result, MAX_FRAGS>; // [i * FRAGS_N + j]: rows bm + 16 i, columns bn + 16 j

  var next = fetch_slices(m0, n0, 0u, thread);
  for (var k0 = 0u; k0 < p.ins; k0 += TILE_K) {
    workgroupBarrier(); // the previous slice is no longer read
    stage_slices(next, thread);
    workgroupBarrier();
    if (k0 + TILE_K < p.ins) { next = fetch_slices(m0, n0, k0 + TILE_K, thread); }

    for (var k = 0u; k < TILE_K; k += FRAG) {
      var a: array<Left, MAX_FRAGS_M>;
      for (var i = 0u; i < FRAGS_M; i++) { a[i] = left(bm + i * FRAG, k); }
      for (var j = 0u; j < FRAGS_N; j++) {
        let b = right(bn + j * FRAG, k);
        for (var i = 0u; i < FRAGS_M; i++) {
          acc[i * FRAGS_N + j] = subgroupMatrixMultiplyAccumulate(a[i], b, acc[i * FRAGS_N + j]);
        }
      }
    }
  }

  let scratch = sg * FRAG * FRAG;
  for (var f = 0u; f < FRAGS_M * FRAGS_N; f++) {
    subgroupMatrixStore<row_major>(&out_tile, scratch, acc[f], FRAG);
    workgroupBarrier();
    let m = m0 + bm + (f / FRAGS_N) * FRAG;
    let n = n0 + bn + (f % FRAGS_N) * FRAG;
    for (var e = lane; e < FRAG * FRAG; e += SUBGROUP) { write_y(m + e / FRAG, n + e % FRAG, out_tile[scratch + e]); }
    workgroupBarrier();
  }
}
