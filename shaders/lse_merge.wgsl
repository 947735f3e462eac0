// Exact merge of `count` partial attention results over disjoint key sets (Star Attention phase 2,
// split-KV decoding): s = log Σ_i exp(s_i), o = Σ_i exp(s_i − s)·o_i, evaluated max-shifted so no
// exponent ever overflows. Partials whose row saw no key (LSE = EMPTY_LSE) weigh 0; if all are empty
// the output is O = 0, LSE = EMPTY_LSE.
//
// One workgroup per (row, head). After the max (a tree in workgroup memory), the partials are shared
// out over PART_LANES lanes of DIM_THREADS invocations (a lane's invocations over head dimensions):
// lane l walks partials l, l + PART_LANES, …, every invocation computing each partial's weight itself
// (the LSE loads are the same address for the whole lane), with no barrier in the walk so the loads of
// successive partials overlap; the lanes' sums then meet in workgroup memory, added in lane order. A
// decoded token merges up to 512 partials a span per (row, head): one walk of 512 would be 512 memory
// latencies in a row.

//#struct Params

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> o_parts: array<f32>;   // [count, rows, heads, head_dim]
@group(0) @binding(2) var<storage, read> lse_parts: array<f32>; // [count, rows, heads]
@group(0) @binding(3) var<storage, read_write> o: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;

//#include empty_lse

const DIM_THREADS = 32u;
const PART_LANES = 8u;
const AHEAD = 4u;
const THREADS = DIM_THREADS * PART_LANES;
// MAX_HEAD_DIM: shared with src/gpu/kernels/attention.ts, which refuses larger heads.
const MAX_DIMS_PER_THREAD = (MAX_HEAD_DIM + DIM_THREADS - 1u) / DIM_THREADS;

var<workgroup> shared_max: array<f32, THREADS>;
var<workgroup> lane_acc: array<f32, PART_LANES * MAX_DIMS_PER_THREAD * DIM_THREADS>; // [lane][j][dim thread]
var<workgroup> lane_sum: array<f32, PART_LANES>;

@compute @workgroup_size(THREADS)
fn main(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let pair = wg.z * groups.x + wg.x;
  if (pair >= p.row_heads) { return; }

  var m = EMPTY_LSE;
  for (var i = thread; i < p.count; i += THREADS) { m = max(m, lse_parts[i * p.row_heads + pair]); }
  shared_max[thread] = m;
  for (var stride = THREADS / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (thread < stride) { shared_max[thread] = max(shared_max[thread], shared_max[thread + stride]); }
  }
  m = workgroupUniformLoad(&shared_max[0]);

  let lane = thread / DIM_THREADS;
  let dim_thread = thread % DIM_THREADS;
  var acc: array<f32, MAX_DIMS_PER_THREAD>;
  var sum = 0.0;
  var i = lane;
  // AHEAD partials of the lane's walk at a time: their loads are issued together (a walk of one at a
  // time waits on memory at every partial), then added in the walk's order, as one at a time would.
  for (; i + (AHEAD - 1u) * PART_LANES < p.count; i += AHEAD * PART_LANES) {
    var w: array<f32, AHEAD>;
    var x: array<f32, AHEAD * MAX_DIMS_PER_THREAD>;
    for (var a = 0u; a < AHEAD; a++) {
      let at = (i + a * PART_LANES) * p.row_heads + pair;
      w[a] = lse_parts[at];
      for (var j = 0u; j < MAX_DIMS_PER_THREAD; j++) {
        let d = j * DIM_THREADS + dim_thread;
        if (d < p.head_dim) { x[a * MAX_DIMS_PER_THREAD + j] = o_parts[at * p.head_dim + d]; }
      }
    }
    for (var a = 0u; a < AHEAD; a++) {
      let weight = exp(w[a] - m);
      sum += weight;
      for (var j = 0u; j < MAX_DIMS_PER_THREAD; j++) {
        if (j * DIM_THREADS + dim_thread < p.head_dim) { acc[j] += weight * x[a * MAX_DIMS_PER_THREAD + j]; }
      }
    }
  }
  for (; i < p.count; i += PART_LANES) {
    let w = exp(lse_parts[i * p.row_heads + pair] - m);
    sum += w;
    let part = (i * p.row_heads + pair) * p.head_dim;
    for (var j = 0u; j < MAX_DIMS_PER_THREAD; j++) {
      let d = j * DIM_THREADS + dim_thread;
      if (d < p.head_dim) { acc[j] += w * o_parts[part + d]; }
    }
  }
  for (var j = 0u; j < MAX_DIMS_PER_THREAD; j++) { lane_acc[(lane * MAX_DIMS_PER_THREAD + j) * DIM_THREADS + dim_thread] = acc[j]; }
  if (dim_thread == 0u) { lane_sum[lane] = sum; }
  workgroupBarrier();
  if (lane != 0u) { return; }

  var total = 0.0;
  for (var l = 0u; l < PART_LANES; l++) { total += lane_sum[l]; }
  let empty = m <= EMPTY_LSE;
  let inv = select(1.0 / total, 0.0, empty);
  for (var j = 0u; j < MAX_DIMS_PER_THREAD; j++) {
    let d = j * DIM_THREADS + dim_thread;
    if (d < p.head_dim) {
      var merged = 0.0;
      for (var l = 0u; l < PART_LANES; l++) { merged += lane_acc[(l * MAX_DIMS_PER_THREAD + j) * DIM_THREADS + dim_thread]; }
      o[pair * p.head_dim + d] = merged * inv;
    }
  }
  if (dim_thread == 0u) { lse[pair] = select(m + log(total), EMPTY_LSE, empty); }
}
