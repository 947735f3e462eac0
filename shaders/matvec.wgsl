// Linear layer for a few rows (decoding): Y[m, y_col0 + n] = sum_k X[m, k] * W[n, k] (+ bias[y_col0 + n])
// for m < ROWS (an override constant, 1..MAX_ROWS). Same layout, parameters and bindings as linear.wgsl.
// Decoding is bound by reading W, so W is read once for all rows: each team of LANES invocations walks one
// weight row with consecutive invocations on consecutive elements (coalesced loads), keeping one partial
// sum per row of X; the team's partial sums are then added up in workgroup memory.

//#include grid

struct Params {
  rows: u32,      // M, equal to ROWS (kept for the layout shared with linear.wgsl)
  outs: u32,      // N in this dispatch
  ins: u32,       // K
  y_stride: u32,  // elements per row of Y
  y_col0: u32,    // first column of Y written here
  has_bias: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<W>;
@group(0) @binding(3) var<storage, read> bias: array<W>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

override ROWS: u32 = 1u;
const MAX_ROWS = 8u;
const LANES = 64u;                      // invocations per weight row
const THREADS = 256u;
const OUTS_PER_GROUP = THREADS / LANES; // weight rows per workgroup

var<workgroup> partial_sums: array<f32, MAX_ROWS * THREADS>; // [row of X][invocation]

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let team = thread / LANES;
  let lane = thread % LANES;
  let n = flat_workgroup(group, groups) * OUTS_PER_GROUP + team;

  var acc: array<f32, MAX_ROWS>;
  if (n < p.outs) {
    let w_row = n * p.ins;
    for (var k = lane; k < p.ins; k += LANES) {
      let wv = f32(w[w_row + k]);
      for (var m = 0u; m < ROWS; m++) { acc[m] += wv * x[m * p.ins + k]; }
    }
  }

  for (var m = 0u; m < ROWS; m++) { partial_sums[m * THREADS + thread] = acc[m]; }
  workgroupBarrier();
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      for (var m = 0u; m < ROWS; m++) {
        partial_sums[m * THREADS + thread] += partial_sums[m * THREADS + thread + stride];
      }
    }
    workgroupBarrier();
  }

  if (lane == 0u && n < p.outs) {
    var b = 0.0;
    if (p.has_bias != 0u) { b = f32(bias[p.y_col0 + n]); }
    for (var m = 0u; m < ROWS; m++) {
      y[m * p.y_stride + p.y_col0 + n] = partial_sums[m * THREADS + thread] + b;
    }
  }
}
