// Linear layer for many rows: Y[m, y_col0 + n] = sum_k X[m, k] * W[n, k] (+ bias[y_col0 + n]).
// W is laid out as Hugging Face stores nn.Linear weights: [out, in], row-major, read through the weight
// format's include (shaders/weight_f32.wgsl and the files that replace it); accumulation is always f32.
// With ACCUMULATE in flags, Y += instead of Y = (the residual add folded into the projection).
// A weight too large for one storage binding is split into row ranges, one dispatch each: y_col0 says
// where this range's outputs go in Y's rows of y_stride elements.
//
// Each workgroup computes a TILE_M x TILE_N tile of Y; each of its 16x16 invocations a 4x4 block.
// The K dimension is walked TILE_K at a time through workgroup memory.

//#include weight_f32

struct Params {
  rows: u32,      // M
  outs: u32,      // N in this dispatch
  ins: u32,       // K
  y_stride: u32,  // elements per row of Y
  y_col0: u32,    // first column of Y written here
  flags: u32,     // HAS_BIAS | ACCUMULATE
}

const HAS_BIAS = 1u;
const ACCUMULATE = 2u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const TILE_M = 64u;
const TILE_N = 64u;
const TILE_K = 16u;
const THREADS = 256u;

var<workgroup> x_tile: array<f32, TILE_K * TILE_M>; // [k][m]
var<workgroup> w_tile: array<f32, TILE_K * TILE_N>; // [k][n]

@compute @workgroup_size(16, 16)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(local_invocation_id) local: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let m0 = group.y * TILE_M;
  let n0 = group.x * TILE_N;
  var acc: array<array<f32, 4>, 4>;

  for (var k0 = 0u; k0 < p.ins; k0 += TILE_K) {
    // Stage a TILE_M x TILE_K slice of X and a TILE_N x TILE_K slice of W, zero outside the matrices.
    for (var i = 0u; i < TILE_M * TILE_K / THREADS; i++) {
      let e = thread + i * THREADS;
      let r = e / TILE_K;
      let c = e % TILE_K;
      let k = k0 + c;
      var xv = 0.0;
      if (m0 + r < p.rows && k < p.ins) { xv = x[(m0 + r) * p.ins + k]; }
      x_tile[c * TILE_M + r] = xv;
      var wv = 0.0;
      if (n0 + r < p.outs && k < p.ins) { wv = weight1((n0 + r) * p.ins + k); }
      w_tile[c * TILE_N + r] = wv;
    }
    workgroupBarrier();
    for (var k = 0u; k < TILE_K; k++) {
      var xr: array<f32, 4>;
      var wr: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        xr[i] = x_tile[k * TILE_M + local.y * 4u + i];
        wr[i] = w_tile[k * TILE_N + local.x * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] += xr[i] * wr[j]; }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let m = m0 + local.y * 4u + i;
    if (m >= p.rows) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + local.x * 4u + j;
      if (n < p.outs) {
        var v = acc[i][j];
        if ((p.flags & HAS_BIAS) != 0u) { v += bias[p.y_col0 + n]; }
        let at = m * p.y_stride + p.y_col0 + n;
        if ((p.flags & ACCUMULATE) != 0u) { v += y[at]; }
        y[at] = v;
      }
    }
  }
}
