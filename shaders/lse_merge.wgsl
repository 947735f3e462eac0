// Exact merge of `count` partial attention results over disjoint key sets (Star Attention phase 2,
// split-KV decoding): s = log Σ_i exp(s_i), o = Σ_i exp(s_i − s)·o_i, evaluated max-shifted so no
// exponent ever overflows. Partials whose row saw no key (LSE = EMPTY_LSE) weigh 0; if all are empty
// the output is O = 0, LSE = EMPTY_LSE.
//
// One workgroup per (row, head). The partials are shared out over PART_LANES lanes of DIM_THREADS
// invocations (a lane's invocations over the head's dimensions): lane l walks partials l, l + PART_LANES,
// …, AHEAD of them at a time (their loads issued together), keeping its own running max and rescaling its
// sum and O when the max grows (an online softmax over the partials), with no barrier in the walk. The
// lanes' states then meet in workgroup memory, added in lane order. A decoded token merges up to 256
// partials a span per (row, head): one walk of 256 would be 256 memory latencies in a row, and a first
// pass for the max would be one more round of loads and a tree of barriers.
//
// HEAD_DIM and DIM_THREADS are set by src/gpu/kernels/attention.ts (lseMerge).

//#struct Params

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> o_parts: array<f32>;   // [count, rows, heads, HEAD_DIM]
@group(0) @binding(2) var<storage, read> lse_parts: array<f32>; // [count, rows, heads]
@group(0) @binding(3) var<storage, read_write> o: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;

//#include empty_lse

const THREADS = 256u;
const PART_LANES = THREADS / DIM_THREADS;
const DIMS_PER_THREAD = (HEAD_DIM + DIM_THREADS - 1u) / DIM_THREADS;
const AHEAD = 4u;

var<workgroup> lane_max: array<f32, PART_LANES>;
var<workgroup> lane_sum: array<f32, PART_LANES>;                                   // rescaled to lane_max
var<workgroup> lane_acc: array<f32, PART_LANES * DIMS_PER_THREAD * DIM_THREADS>; // [lane][j][dim thread]

@compute @workgroup_size(THREADS)
fn main(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let pair = wg.z * groups.x + wg.x;
  if (pair >= p.row_heads) { return; }

  let lane = thread / DIM_THREADS;
  let dim_thread = thread % DIM_THREADS;
  var m = EMPTY_LSE;
  var sum = 0.0;
  var acc: array<f32, DIMS_PER_THREAD>;
  for (var i = lane; i < p.count; i += AHEAD * PART_LANES) {
    var w: array<f32, AHEAD>;
    var x: array<f32, AHEAD * DIMS_PER_THREAD>;
    for (var a = 0u; a < AHEAD; a++) {
      let part = i + a * PART_LANES;
      w[a] = EMPTY_LSE;
      if (part < p.count) {
        let at = part * p.row_heads + pair;
        w[a] = lse_parts[at];
        for (var j = 0u; j < DIMS_PER_THREAD; j++) {
          let d = j * DIM_THREADS + dim_thread;
          if (d < HEAD_DIM) { x[a * DIMS_PER_THREAD + j] = o_parts[at * HEAD_DIM + d]; }
        }
      }
    }
    var m_new = m;
    for (var a = 0u; a < AHEAD; a++) { m_new = max(m_new, w[a]); }
    let alpha = exp(m - m_new);
    sum *= alpha;
    for (var j = 0u; j < DIMS_PER_THREAD; j++) { acc[j] *= alpha; }
    for (var a = 0u; a < AHEAD; a++) {
      let weight = select(0.0, exp(w[a] - m_new), w[a] > EMPTY_LSE);
      sum += weight;
      for (var j = 0u; j < DIMS_PER_THREAD; j++) { acc[j] += weight * x[a * DIMS_PER_THREAD + j]; }
    }
    m = m_new;
  }
  for (var j = 0u; j < DIMS_PER_THREAD; j++) { lane_acc[(lane * DIMS_PER_THREAD + j) * DIM_THREADS + dim_thread] = acc[j]; }
  if (dim_thread == 0u) {
    lane_max[lane] = m;
    lane_sum[lane] = sum;
  }
  workgroupBarrier();
  if (lane != 0u) { return; }

  var row_max = EMPTY_LSE;
  for (var l = 0u; l < PART_LANES; l++) { row_max = max(row_max, lane_max[l]); }
  var scale: array<f32, PART_LANES>;
  var total = 0.0;
  for (var l = 0u; l < PART_LANES; l++) {
    scale[l] = exp(lane_max[l] - row_max);
    total += lane_sum[l] * scale[l];
  }
  let empty = row_max <= EMPTY_LSE;
  let inv = select(1.0 / total, 0.0, empty);
  for (var j = 0u; j < DIMS_PER_THREAD; j++) {
    let d = j * DIM_THREADS + dim_thread;
    if (d < HEAD_DIM) {
      var merged = 0.0;
      for (var l = 0u; l < PART_LANES; l++) { merged += lane_acc[(l * DIMS_PER_THREAD + j) * DIM_THREADS + dim_thread] * scale[l]; }
      o[pair * HEAD_DIM + d] = merged * inv;
    }
  }
  if (dim_thread == 0u) { lse[pair] = select(row_max + log(total), EMPTY_LSE, empty); }
}
