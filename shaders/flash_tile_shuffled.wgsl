// The f32 FlashAttention tile for CPU adapters with subgroups (see flash_tile_common.wgsl for what the
// tiles share). On Mesa's lavapipe a workgroup-memory read at an index shared by a subgroup is emitted
// lane by lane and costs about a gather, so the plain tile (flash_tile.wgsl), which reads every K and V
// vec4 it uses from kv_tile, spent ~80 % of its time in those reads (bench/results/ort-node-lavapipe.md).
// Here, as in onnxruntime's WebGPU FlashAttention, each lane of a subgroup reads ONE key's vec4 and the
// subgroup's keys go round with subgroupShuffle, which lavapipe does in registers: one kv_tile read per
// STEP keys instead of one per key. Scores and probabilities stay in registers.
//
// One invocation a query row (LANES = 1: it holds the row's whole query and output), so every row needs
// every key, whichever rows share its subgroup: nothing is assumed about which invocations those are.
// A step of STEP keys is spread over a subgroup's lanes 0…STEP−1 (the lane of an invocation counted
// among the active invocations of its subgroup), so every subgroup must have at least STEP active
// lanes, numbered from 0: STEP is at most the adapter's smallest subgroup size and the workgroup is whole
// subgroups of its largest (src/gpu/kernels/attention.ts checks both when it chooses this tile).
// STEP is a shared constant, not an override: the registers holding a step's scores need a constant size.

enable subgroups;

//#include flash_tile_common

// K rows [0, KEYS), then V rows [KEYS, 2·KEYS): both staged at once, two barriers a key tile.
var<workgroup> kv_tile: array<vec4f, 2u * KEYS * KV_STRIDE>;

// Attends to keys [first, count), KEYS at a time, STEP at a time within a tile. Callers bound `count`
// so that tiles masked for every row of the workgroup are never visited. `first` and `count` must be
// workgroup-uniform (the shuffles need every lane of the subgroup).
fn flash_keys(first: u32, count: u32) {
  let step_lane = subgroupExclusiveAdd(1u);
  for (var c0 = first; c0 < count; c0 += KEYS) {
    let c_end = min(count, c0 + KEYS);
    flash_stage(false, c0, c_end - c0, 0u);
    flash_stage(true, c0, c_end - c0, KEYS * KV_STRIDE);
    workgroupBarrier();
    // Counted from c0 to c_end, not a constant trip count: see flash_tile.wgsl's loops.
    for (var k = c0; k < c_end; k += STEP) {
      flash_step(k, k - c0, min(STEP, c_end - k), step_lane);
    }
    workgroupBarrier();
  }
}

// Keys k…k+n−1 (n ≤ STEP), staged at kv_tile row c…: this lane reads key c + step_lane's vec4s (a row
// past the tile is zero, or any row for lanes past STEP: never shuffled out), and takes key c + i's from
// lane i. The online softmax advances once a step.
fn flash_step(k: u32, c: u32, n: u32, step_lane: u32) {
  let mine = min(c + step_lane, KEYS - 1u) * KV_STRIDE;
  var s = array<f32, STEP>();
  for (var j = 0u; j < VECS_PER_LANE; j++) {
    let qj = q_reg[j];
    let kj = kv_tile[mine + j];
    for (var i = 0u; i < STEP; i++) { s[i] += dot(qj, subgroupShuffle(kj, i)); }
  }
  var m_new = m_run;
  for (var i = 0u; i < STEP; i++) {
    s[i] = flash_cap(s[i]);
    if (i < n && flash_visible(k + i)) { m_new = max(m_new, s[i]); }
  }
  var p = array<f32, STEP>();
  var l_new = 0.0;
  for (var i = 0u; i < STEP; i++) {
    if (i < n && flash_visible(k + i)) { p[i] = exp(s[i] - m_new); }
    l_new += p[i];
  }
  let alpha = exp(m_run - m_new);
  m_run = m_new;
  l_run = l_run * alpha + l_new;
  let values = KEYS * KV_STRIDE + mine;
  for (var j = 0u; j < VECS_PER_LANE; j++) {
    let vj = kv_tile[values + j];
    var a = acc[j] * alpha;
    for (var i = 0u; i < STEP; i++) { a += p[i] * subgroupShuffle(vj, i); }
    acc[j] = a;
  }
}
