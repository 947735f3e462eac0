// Linear layer for a few rows (decoding): Y[m, y_col0 + n] = sum_k X[m, k] * W[n, k] (+ bias[y_col0 + n])
// for m < ROWS (an override constant, 1..MAX_ROWS); with ACCUMULATE in flags, Y += instead of Y =
// (the residual add folded into o_proj and down_proj: one dispatch and one pass over Y fewer).
// Same layout, parameters and bindings as linear.wgsl; W is read through the weight format's include.
//
// Decoding is bound by reading W, so W is read once for all rows of X, and the kernel's job is to keep
// enough of W's bytes in flight to fill the memory bus. Each workgroup of THREADS invocations owns
// OUTS_PER_GROUP weight rows, and each element of x is loaded once, 16 bytes at a time, for all of them.
// Two ways to read a row, chosen per format (chooseMatvec in src/gpu/kernels/linear.ts):
//   vec4s (f32, f16, bf16, and every format on a CPU adapter): invocation t reads the vec4s t,
//     t + THREADS, … of each owned row (consecutive invocations on consecutive vec4s: coalesced loads),
//     UNROLL vec4s of every row before it adds any (independent loads in flight).
//   CHUNKED (q8, q4, q4g128 on GPUs, rows of a multiple of 32 elements): invocation t reads chunks t,
//     t + THREADS, … of 32 consecutive elements, a 16-byte load or two for the data and one for the
//     scale (the format include's weight_chunk), a chunk of every owned row loaded before any is used,
//     UNROLL chunks at a time (a loop the compiler unrolls, so that later chunks' loads go ahead of
//     earlier products). A vec4 of a quantized row is a 2- or 4-byte load and a scale load: the kernel
//     was bound by load instructions. Timed on an H100, chunks beat vec4s for q4g128 (Llama-3.2-1B's
//     down 2048×8192: 17 µs against 26) but lose for f32 and bf16, whose vec4s are 16- and 8-byte loads
//     already (Llama's lm_head in f32: 1384 µs in chunks, 333 in vec4s; bf16: 289 against 180).
// Either way an invocation adds its products in element order whatever the format, so weights holding
// the same numbers (f32 and bf16) give the same bits under the same shape. Rows not a multiple of 4
// elements go one element at a time. On a CPU adapter UNROLL is 1 (unrolled code made lavapipe compile
// a pipeline many times slower for nothing). matvec_total (shaders/matvec_reduce.wgsl in workgroup
// memory, or shaders/matvec_reduce_subgroups.wgsl) adds the OUTS_PER_GROUP · ROWS partial sums up over
// the workgroup in a fixed order.
//
// Two folds save decoding a dispatch each (a decoded token is a few hundred small dispatches, and each
// has a fixed cost on a real GPU):
//   NORM_INPUT: X is the residual stream and the product is taken with RMSNorm(X) = X ⊙ (offset + g) · r,
//     r = 1 / sqrt(mean(X²) + eps): the sums take X ⊙ (offset + g) and are scaled by r at the end, which
//     every workgroup computes from the same loads of X (the sums of squares ride along).
//   GATED: the output is act(gate[·]) · (the product), the MLP's gating applied to the up projection
//     (shaders/activation.wgsl), reading the gate projection's output.
// And one saves a whole projection's dispatch:
//   GATE_UP: W is [Wgate; Wup], 2 · outs rows (src/model/weights.ts stores the two concatenated), and
//     y[·, n] = act(gate row n's product) · (up row n's product): the gate and up projections and the
//     gating in one dispatch. A workgroup owns OUTS_PER_GROUP / 2 outputs, so its OUTS_PER_GROUP weight
//     rows are their gate rows and then their up rows; each sum is the one a separate projection takes.

//#include grid
//#include matvec_reduce
//#include weight_f32
//#include activation

//#struct Params

// HAS_BIAS and ACCUMULATE (bits of p.flags): shared with src/gpu/kernels/linear.ts.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read> gate: array<f32>;   // GATED: [ROWS, y_stride]
@group(0) @binding(7) var<storage, read> norm_g: array<vec4<f32>>; // NORM_INPUT: [ins]

override ROWS: u32 = 1u;
override THREADS: u32 = 64u;
override OUTS_PER_GROUP: u32 = 4u;
override CHUNKED: bool = false; // rows of a multiple of CHUNK elements read in chunks
override UNROLL: u32 = 4u; // chunks (CHUNKED) or vec4s of each row in flight
override NORM_INPUT: bool = false;
override GATED: bool = false;
override GATE_UP: bool = false;
const MAX_ROWS = 8u;
const MAX_OUTS_PER_GROUP = 4u;
const MAX_UNROLL = 4u;
const CHUNK = 32u; // elements of a weight_chunk
// Partial sums per invocation, at most THREADS: OUTS_PER_GROUP · ROWS products, then ROWS sums of squares.
override PRODUCTS: u32 = OUTS_PER_GROUP * ROWS;
override SUMS: u32 = PRODUCTS + select(0u, ROWS, NORM_INPUT);

var<private> acc: array<f32, (MAX_OUTS_PER_GROUP + 1u) * MAX_ROWS>; // [weight row][row of X], then [row of X]
var<workgroup> norm_scale: array<f32, MAX_ROWS>;
var<workgroup> up_totals: array<f32, MAX_OUTS_PER_GROUP / 2u * MAX_ROWS>; // GATE_UP: [up row][row of X]

// Outputs a workgroup computes: one per owned weight row, or with GATE_UP one per gate and up pair.
override OUTS_PER_WORKGROUP: u32 = select(OUTS_PER_GROUP, OUTS_PER_GROUP / 2u, GATE_UP);

// The weight row that a workgroup's owned row o (< OUTS_PER_GROUP) is, n0 being its first output.
// Rows past the last (a part-filled final workgroup) read the last row again.
fn weight_row(n0: u32, o: u32) -> u32 {
  if (!GATE_UP) { return min(n0 + o, p.outs - 1u); }
  let pair = o % OUTS_PER_WORKGROUP;
  return min(n0 + pair, p.outs - 1u) + select(0u, p.outs, o >= OUTS_PER_WORKGROUP);
}

// X's elements k..k+3 of row m, times (offset + g) when the norm is folded in; their squares are added to acc.
// x4 needs p.ins and k to be multiples of 4 (one 16-byte load).
fn x4(m: u32, k: u32) -> vec4<f32> {
  let v = x[(m * p.ins + k) / 4u];
  if (!NORM_INPUT) { return v; }
  acc[PRODUCTS + m] += dot(v, v);
  return v * (norm_g[k / 4u] + p.norm_offset);
}

fn x1(m: u32, k: u32) -> f32 {
  let i = m * p.ins + k;
  let v = x[i / 4u][i % 4u];
  if (!NORM_INPUT) { return v; }
  acc[PRODUCTS + m] += v * v;
  return v * (norm_g[k / 4u][k % 4u] + p.norm_offset);
}

// Adds the products of chunk c of every owned weight row: the chunk's loads for all the rows first,
// then the products in element order. Weight rows past the last (a part-filled final workgroup) read
// the last row again; their sums are dropped at the end, so the loops keep constant bounds and unroll.
fn add_chunk(c: u32, n0: u32) {
  var chunks: array<WeightChunk, MAX_OUTS_PER_GROUP>;
  for (var o = 0u; o < OUTS_PER_GROUP; o++) { chunks[o] = weight_chunk(weight_row(n0, o) * p.ins + c * CHUNK); }
  for (var i = 0u; i < CHUNK / 4u; i++) {
    var xk: array<vec4<f32>, MAX_ROWS>;
    for (var m = 0u; m < ROWS; m++) { xk[m] = x4(m, c * CHUNK + i * 4u); }
    for (var o = 0u; o < OUTS_PER_GROUP; o++) {
      let wv = chunk_vec4(chunks[o], i);
      for (var m = 0u; m < ROWS; m++) { acc[o * ROWS + m] += dot(wv, xk[m]); }
    }
  }
}

// Adds the products of UNROLL vec4s of every owned weight row, starting at vec4 `v`, stepping THREADS:
// all of a row's loads first, then its products. Rows past the last read the last row again (as above).
fn add_vec4s(v: u32, n0: u32) {
  var xk: array<vec4<f32>, MAX_UNROLL * MAX_ROWS>;
  for (var u = 0u; u < UNROLL; u++) {
    for (var m = 0u; m < ROWS; m++) { xk[u * MAX_ROWS + m] = x4(m, (v + u * THREADS) * 4u); }
  }
  for (var o = 0u; o < OUTS_PER_GROUP; o++) {
    let row = weight_row(n0, o) * p.ins;
    var wv: array<vec4<f32>, MAX_UNROLL>;
    for (var u = 0u; u < UNROLL; u++) { wv[u] = weight4(row + (v + u * THREADS) * 4u); }
    for (var u = 0u; u < UNROLL; u++) {
      for (var m = 0u; m < ROWS; m++) { acc[o * ROWS + m] += dot(wv[u], xk[u * MAX_ROWS + m]); }
    }
  }
}

@compute @workgroup_size(THREADS)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let n0 = flat_workgroup(group, groups) * OUTS_PER_WORKGROUP;
  if (n0 >= p.outs) { return; }

  if (CHUNKED && p.ins % CHUNK == 0u) {
    // UNROLL chunks of each row at a time while they last, then one at a time.
    let chunks = p.ins / CHUNK;
    var c = thread;
    if (UNROLL > 1u) {
      // A loop of constant count, unrolled: the loads of later chunks can go ahead of earlier products.
      for (; c + (UNROLL - 1u) * THREADS < chunks; c += UNROLL * THREADS) {
        for (var u = 0u; u < UNROLL; u++) { add_chunk(c + u * THREADS, n0); }
      }
    }
    for (; c < chunks; c += THREADS) { add_chunk(c, n0); }
  } else if (p.ins % 4u == 0u) {
    // Every row starts on a multiple of 4 elements: whole vec4s of W, UNROLL at a time while they
    // last, then one at a time.
    let vecs = p.ins / 4u;
    var v = thread;
    if (UNROLL > 1u) {
      for (; v + (UNROLL - 1u) * THREADS < vecs; v += UNROLL * THREADS) { add_vec4s(v, n0); }
    }
    for (; v < vecs; v += THREADS) {
      var xk: array<vec4<f32>, MAX_ROWS>;
      for (var m = 0u; m < ROWS; m++) { xk[m] = x4(m, v * 4u); }
      for (var o = 0u; o < OUTS_PER_GROUP; o++) {
        let wv = weight4(weight_row(n0, o) * p.ins + v * 4u);
        for (var m = 0u; m < ROWS; m++) { acc[o * ROWS + m] += dot(wv, xk[m]); }
      }
    }
  } else {
    for (var k = thread; k < p.ins; k += THREADS) {
      var xk: array<f32, MAX_ROWS>;
      for (var m = 0u; m < ROWS; m++) { xk[m] = x1(m, k); }
      for (var o = 0u; o < OUTS_PER_GROUP; o++) {
        let wv = weight1(weight_row(n0, o) * p.ins + k);
        for (var m = 0u; m < ROWS; m++) { acc[o * ROWS + m] += wv * xk[m]; }
      }
    }
  }

  // Invocation o · ROWS + m gets the total of weight row n0 + o and row m of X; invocation PRODUCTS + m
  // the sum of squares of row m.
  var total = matvec_total(thread);
  if (NORM_INPUT) {
    if (thread >= PRODUCTS && thread < SUMS) { norm_scale[thread - PRODUCTS] = inverseSqrt(total / f32(p.ins) + p.eps); }
    workgroupBarrier();
  }
  let o = thread / ROWS;
  if (GATE_UP) {
    // The up rows' totals go through workgroup memory to the invocations holding their gate rows'.
    if (NORM_INPUT) { total *= norm_scale[thread % ROWS]; }
    let pairs = OUTS_PER_WORKGROUP * ROWS;
    if (thread >= pairs && thread < PRODUCTS) { up_totals[thread - pairs] = total; }
    workgroupBarrier();
    if (o < min(OUTS_PER_WORKGROUP, p.outs - n0)) { y[(thread % ROWS) * p.y_stride + p.y_col0 + n0 + o] = activation(total) * up_totals[thread]; }
    return;
  }
  if (o < min(OUTS_PER_GROUP, p.outs - n0)) {
    let m = thread % ROWS;
    if (NORM_INPUT) { total *= norm_scale[m]; }
    if ((p.flags & HAS_BIAS) != 0u) { total += bias[p.y_col0 + n0 + o]; }
    let at = m * p.y_stride + p.y_col0 + n0 + o;
    if (GATED) { total *= activation(gate[at]); }
    if ((p.flags & ACCUMULATE) != 0u) { total += y[at]; }
    y[at] = total;
  }
}
