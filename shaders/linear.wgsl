// Linear layer for many rows: Y[m, y_col0 + n] = sum_k X[m, k] * W[n, k] (+ bias[y_col0 + n]), in f32.
// Layout, bindings and the K-slice pipeline: shaders/linear_tiles.wgsl.
//
// Each workgroup computes a TILE_M x TILE_N tile of Y; each of its WG_N x WG_M invocations an 8x8 block
// of it, as two 4-row halves TILE_M / 2 apart by two 4-column halves TILE_N / 2 apart, so that the
// invocations of a subgroup read consecutive vec4s of the staged slices. Slices are staged transposed,
// [k][m] and [k][n], so that one vec4 read gives 4 rows (or columns) at one k. Tile sizes are override
// constants (linear.ts chooses them).

//#include linear_tiles

override WG_M: u32 = 16u;     // invocations along M
override WG_N: u32 = 16u;     // invocations along N
override TILE_K: u32 = 8u;    // a multiple of 4
override TILE_M = WG_M * 8u;
override TILE_N = WG_N * 8u;
override THREADS = WG_M * WG_N;
override X_LOADS = TILE_M * TILE_K / 4u / THREADS;
override W_LOADS = TILE_N * TILE_K / 4u / THREADS;

var<workgroup> x_tile: array<vec4<f32>, TILE_K * TILE_M / 4u>; // [k][m / 4]
var<workgroup> w_tile: array<vec4<f32>, TILE_K * TILE_N / 4u>; // [k][n / 4]

/** Stages elements c..c+3 of row r of the X slice: component r % 4 of 4 consecutive k. */
fn stage_x(r: u32, c: u32, v: vec4<f32>) {
  for (var j = 0u; j < 4u; j++) { x_tile[(c + j) * (TILE_M / 4u) + r / 4u][r % 4u] = v[j]; }
}

fn stage_w(r: u32, c: u32, v: vec4<f32>) {
  for (var j = 0u; j < 4u; j++) { w_tile[(c + j) * (TILE_N / 4u) + r / 4u][r % 4u] = v[j]; }
}

@compute @workgroup_size(WG_N, WG_M)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(local_invocation_id) local: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let m0 = group.y * TILE_M;
  let n0 = group.x * TILE_N;
  var acc: array<vec4<f32>, 16>; // [row 0..7][column half 0..1]

  var next = fetch_slices(m0, n0, 0u, thread);
  for (var k0 = 0u; k0 < p.ins; k0 += TILE_K) {
    workgroupBarrier(); // the previous slice is no longer read
    stage_slices(next, thread);
    workgroupBarrier();
    if (k0 + TILE_K < p.ins) { next = fetch_slices(m0, n0, k0 + TILE_K, thread); }

    for (var k = 0u; k < TILE_K; k++) {
      let xa = x_tile[k * (TILE_M / 4u) + local.y];
      let xb = x_tile[k * (TILE_M / 4u) + TILE_M / 8u + local.y];
      let wa = w_tile[k * (TILE_N / 4u) + local.x];
      let wb = w_tile[k * (TILE_N / 4u) + TILE_N / 8u + local.x];
      for (var i = 0u; i < 4u; i++) {
        acc[2u * i] += xa[i] * wa;
        acc[2u * i + 1u] += xa[i] * wb;
        acc[2u * i + 8u] += xb[i] * wa;
        acc[2u * i + 9u] += xb[i] * wb;
      }
    }
  }

  for (var i = 0u; i < 8u; i++) {
    let m = m0 + (i / 4u) * (TILE_M / 2u) + local.y * 4u + i % 4u;
    for (var j = 0u; j < 8u; j++) {
      let n = n0 + (j / 4u) * (TILE_N / 2u) + local.x * 4u + j % 4u;
      write_y(m, n, acc[2u * i + j / 4u][j % 4u]);
    }
  }
}
