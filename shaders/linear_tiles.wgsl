// What the two tiled linear kernels share (shaders/linear.wgsl in f32, shaders/linear_subgroup_matrix.wgsl
// on tensor cores): parameters and bindings, and the K-slice pipeline. Each kernel walks K TILE_K at a
// time; every invocation loads its 4-element chunks of the next slice of X and W into registers
// (fetch_slices) while the current slice, staged in workgroup memory (stage_slices, through the
// kernel's own stage_x / stage_w), is multiplied. The kernel defines THREADS, TILE_M, TILE_N, TILE_K,
// X_LOADS and W_LOADS (chunks per invocation per slice, at most MAX_LOADS: linear.ts checks).
//
// W is laid out as Hugging Face stores nn.Linear weights, [out, in] row-major, and read through the
// weight-format include (weight4: 4 consecutive elements of a row, as f32). K (ins) is a multiple of 4,
// as the loader stores every matrix, so X and W are both read 4 elements of k at a time.
// A weight too large for one storage binding is split into row ranges, one dispatch each: y_col0 says
// where this range's outputs go in Y's rows of y_stride elements. With ACCUMULATE in flags, Y += instead
// of Y = (the residual add folded into the projection).

//#include weight_f32

//#struct Params

// HAS_BIAS and ACCUMULATE (bits of p.flags): shared with src/gpu/kernels/linear.ts.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const MAX_LOADS = 16u;

struct Slices {
  x: array<vec4<f32>, MAX_LOADS>,
  w: array<vec4<f32>, MAX_LOADS>,
}

/** Elements k..k+3 of row m of X, zero outside X. */
fn x_chunk(m: u32, k: u32) -> vec4<f32> {
  if (m < p.rows && k < p.ins) { return x[(m * p.ins + k) / 4u]; }
  return vec4<f32>();
}

/** Elements k..k+3 of row n of W, zero outside W. */
fn w_chunk(n: u32, k: u32) -> vec4<f32> {
  if (n < p.outs && k < p.ins) { return weight4(n * p.ins + k); }
  return vec4<f32>();
}

/** This invocation's chunks of the slice k0..k0+TILE_K of the tile's rows of X and W. */
fn fetch_slices(m0: u32, n0: u32, k0: u32, thread: u32) -> Slices {
  let chunks = TILE_K / 4u;
  var s: Slices;
  for (var i = 0u; i < X_LOADS; i++) {
    let e = thread + i * THREADS;
    s.x[i] = x_chunk(m0 + e / chunks, k0 + (e % chunks) * 4u);
  }
  for (var i = 0u; i < W_LOADS; i++) {
    let e = thread + i * THREADS;
    s.w[i] = w_chunk(n0 + e / chunks, k0 + (e % chunks) * 4u);
  }
  return s;
}

/** Puts fetched chunks in workgroup memory: chunk (row r of the tile, k offset c) through stage_x / stage_w. */
fn stage_slices(s: Slices, thread: u32) {
  let chunks = TILE_K / 4u;
  for (var i = 0u; i < X_LOADS; i++) {
    let e = thread + i * THREADS;
    stage_x(e / chunks, (e % chunks) * 4u, s.x[i]);
  }
  for (var i = 0u; i < W_LOADS; i++) {
    let e = thread + i * THREADS;
    stage_w(e / chunks, (e % chunks) * 4u, s.w[i]);
  }
}

/** Y[m, y_col0 + n] = v (+ bias) (or += that), for m and n inside this dispatch's part of Y. */
fn write_y(m: u32, n: u32, v: f32) {
  if (m < p.rows && n < p.outs) {
    var out = v;
    if ((p.flags & HAS_BIAS) != 0u) { out += bias[p.y_col0 + n]; }
    let at = m * p.y_stride + p.y_col0 + n;
    if ((p.flags & ACCUMULATE) != 0u) { out += y[at]; }
    y[at] = out;
  }
}
