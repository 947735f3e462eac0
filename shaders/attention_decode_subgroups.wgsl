// Split-KV decode attention on subgroups (flash-decoding): the work and the partials of
// attention_decode.wgsl (one workgroup per (split, query tile, kv head), each writing its split's
// normalised O and LSE for lse_merge), laid out for a GPU's memory instead of through workgroup memory.
//
// Why: a decode has few query rows and many keys, so it is a stream of K and V rows from memory. The
// workgroup-memory kernel walks its split in steps separated by barriers, each step waiting on its
// loads, and reached ~250 GB/s on an H100 at 64K keys. Here a key group of KEY_LANES consecutive
// subgroup lanes reads one key row with one vec4 load a lane (a subgroup's load covers whole rows of
// consecutive keys), the lanes' partial dot products meet through subgroupShuffleXor, and each key
// group runs its own online softmax over its keys in registers: the main loop has no barrier, and a
// group has UNROLL keys' K and V rows in flight at once. The key groups of the workgroup merge their
// (max, sum, O) once at the end, through workgroup memory.
//
// Lane `lane` of a key group holds elements [(lane + v·KEY_LANES)·VEC_ELEMS, + VEC_ELEMS) of a row,
// v < LANE_VECS, of the queries, keys, values and its share of O. Key groups take the split's keys
// group, group + groups, … in UNROLL-key batches, so consecutive groups read consecutive keys.
//
// Nothing is assumed about which invocations share a subgroup: key groups are formed from subgroup
// lanes (subgroup_invocation_id), numbered in the order of their subgroups' lowest invocation index;
// a subgroup's lanes past its last whole key group (a partial subgroup) take no keys.
//
// Query rows are the flattened (position t, head g of the kv head's GQA group) pairs, i = t·group + g.
// Set by src/gpu/kernels/attention.ts as constants: HEAD_DIM, ROWS (query rows a tile), KEY_LANES,
// LANE_VECS, UNROLL, THREADS, with KEY_LANES·LANE_VECS·VEC_ELEMS = HEAD_DIM and THREADS·LANE_VECS·VEC_ELEMS
// ≤ MERGE_FLOATS.

enable subgroups;

//#include tanh
//#include kv_f32
//#include empty_lse

//#struct Params

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<vec4<kv_word>>;
@group(0) @binding(3) var<storage, read> values: array<vec4<kv_word>>;
@group(0) @binding(4) var<storage, read_write> o: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read> positions: array<u32>; // [0]: the position of query row 0

// Sliding window and soft-capping, as in flash_tile.wgsl: 0 = none.
override WINDOW: u32 = 0u;
override SOFTCAP: f32 = 0.0;

const VEC_ELEMS = 4u * KV_PER_WORD;       // elements in one vec4 of cache words
const LANE_ELEMS = LANE_VECS * VEC_ELEMS; // elements of a row one lane holds
const QUADS = LANE_ELEMS / 4u;            // the same as vec4fs: what the registers hold and the loops walk
const ROW_VECS = KEY_LANES * LANE_VECS;   // vec4s of a key row
const MAX_GROUPS = THREADS / KEY_LANES;
// Workgroup floats for adding up the groups' O, MERGE_ROWS rows at a time.
const MERGE_FLOATS = 2048u;
const MERGE_ROWS = MERGE_FLOATS / (MAX_GROUPS * HEAD_DIM);

var<workgroup> subgroup_groups: array<u32, THREADS>;        // key groups of the subgroup whose lowest invocation is i
var<workgroup> group_total: u32;
var<workgroup> key_count: u32;
var<workgroup> group_max: array<f32, MAX_GROUPS * ROWS>;    // [group][row]
var<workgroup> group_sum: array<f32, MAX_GROUPS * ROWS>;    // [group][row], rescaled to the rows' max
var<workgroup> merge_acc: array<f32, MERGE_ROWS * MAX_GROUPS * HEAD_DIM>; // [row][group][dim]

// The q row (t·heads + h) of flattened query row i of kv head `kv_head`.
fn q_row_of(i: u32, kv_head: u32) -> u32 {
  return (i / p.group) * p.heads + kv_head * p.group + i % p.group;
}

fn visible(key_position: u32, query_position: u32) -> bool {
  return key_position <= query_position && (WINDOW == 0u || query_position - key_position < WINDOW);
}

// The row element that lane `lane` holds at index e < LANE_ELEMS.
fn lane_dim(lane: u32, e: u32) -> u32 {
  return (lane + (e / VEC_ELEMS) * KEY_LANES) * VEC_ELEMS + e % VEC_ELEMS;
}

@compute @workgroup_size(THREADS)
fn main(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(local_invocation_index) thread: u32,
  @builtin(subgroup_invocation_id) sg_lane: u32,
) {
  let kv_head = wg.z;
  let i_begin = wg.y * ROWS;
  let tile_rows = min(ROWS, p.rows * p.group - i_begin);
  let q_first = positions[0];

  // Keys of this split that some row of the tile can see: none past the last row's position.
  let cell = wg.x * p.split;
  let s0 = max(cell, p.split_shift) - p.split_shift;
  let s_end = min(cell + p.split - p.split_shift, p.kv_length);
  let first_position = p.kv_first + s0;
  let last_query = q_first + (i_begin + tile_rows - 1u) / p.group;

  // Key groups: this subgroup's come after those of the subgroups with a lower lowest invocation.
  let sg_groups = subgroupAdd(1u) / KEY_LANES;
  let sg_first = subgroupMin(thread);
  if (subgroupElect()) { subgroup_groups[sg_first] = sg_groups; }
  workgroupBarrier();
  var group_base = 0u;
  for (var i = 0u; i < sg_first; i++) { group_base += subgroup_groups[i]; }
  if (thread == 0u) {
    var total = 0u;
    for (var i = 0u; i < THREADS; i++) { total += subgroup_groups[i]; }
    group_total = total;
    var visible_keys = 0u;
    if (s0 < s_end && last_query >= first_position) {
      visible_keys = min(s_end - s0, last_query - first_position + 1u);
    }
    key_count = visible_keys;
  }
  let groups = workgroupUniformLoad(&group_total);
  let count = workgroupUniformLoad(&key_count);
  let lane = sg_lane % KEY_LANES;
  let member = sg_lane / KEY_LANES < sg_groups;
  let group = group_base + sg_lane / KEY_LANES;

  // Registers hold rows as vec4fs: a GPU's compiler keeps arrays in registers only where it unrolls every
  // loop that indexes them, and loops over quads are a quarter as long as loops over elements.
  var q_lane: array<vec4f, ROWS * QUADS>;       // [row][quad], scaled
  for (var r = 0u; r < ROWS; r++) {
    if (r < tile_rows) {
      let row = q_row_of(i_begin + r, kv_head) * HEAD_DIM;
      for (var j = 0u; j < QUADS; j++) {
        let d = row + lane_dim(lane, 4u * j);
        q_lane[r * QUADS + j] = vec4f(q[d], q[d + 1u], q[d + 2u], q[d + 3u]) * p.scale;
      }
    }
  }
  var m_run: array<f32, ROWS>;                  // running max of each row's visible scores
  var l_run: array<f32, ROWS>;                  // running sum of exp(score − m_run)
  var acc: array<vec4f, ROWS * QUADS>;          // [row][quad]: unnormalised output
  for (var r = 0u; r < ROWS; r++) { m_run[r] = EMPTY_LSE; }

  let row_stride = p.kv_heads * ROW_VECS;
  let head_vecs = kv_head * ROW_VECS + lane;
  for (var c0 = 0u; c0 < count; c0 += groups * UNROLL) {
    // Every load of the batch before any use. Keys past the split read its last key and weigh 0.
    var k_words: array<vec4<kv_word>, UNROLL * LANE_VECS>;
    var v_words: array<vec4<kv_word>, UNROLL * LANE_VECS>;
    for (var u = 0u; u < UNROLL; u++) {
      let c = min(c0 + u * groups + group, count - 1u);
      let row = (p.kv_start + s0 + c) * row_stride + head_vecs;
      for (var v = 0u; v < LANE_VECS; v++) {
        k_words[u * LANE_VECS + v] = keys[row + v * KEY_LANES];
        v_words[u * LANE_VECS + v] = values[row + v * KEY_LANES];
      }
    }
    // Scores: each lane's share of the dot products, then summed over the key group's lanes.
    var s: array<f32, UNROLL * ROWS>;            // [u][row]
    for (var u = 0u; u < UNROLL; u++) {
      var k: array<vec4f, QUADS>;
      for (var j = 0u; j < QUADS; j++) { k[j] = kv_quad(k_words[u * LANE_VECS + j / KV_PER_WORD], j % KV_PER_WORD); }
      for (var r = 0u; r < ROWS; r++) {
        var partial = 0.0;
        for (var j = 0u; j < QUADS; j++) { partial += dot(q_lane[r * QUADS + j], k[j]); }
        s[u * ROWS + r] = partial;
      }
    }
    for (var mask = 1u; mask < KEY_LANES; mask <<= 1u) {
      for (var i = 0u; i < UNROLL * ROWS; i++) { s[i] += subgroupShuffleXor(s[i], mask); }
    }
    for (var u = 0u; u < UNROLL; u++) {
      let c = c0 + u * groups + group;
      for (var r = 0u; r < ROWS; r++) {
        var score = s[u * ROWS + r];
        if (SOFTCAP > 0.0) { score = SOFTCAP * stable_tanh(score / SOFTCAP); }
        let query_position = q_first + (i_begin + r) / p.group;
        let seen = member && c < count && r < tile_rows && visible(first_position + c, query_position);
        s[u * ROWS + r] = select(EMPTY_LSE, score, seen);
      }
    }
    // Online softmax of each row over the batch, and P·V into the lane's elements.
    var v_lane: array<vec4f, UNROLL * QUADS>;
    for (var i = 0u; i < UNROLL * QUADS; i++) { v_lane[i] = kv_quad(v_words[i / KV_PER_WORD], i % KV_PER_WORD); }
    for (var r = 0u; r < ROWS; r++) {
      var m_new = m_run[r];
      for (var u = 0u; u < UNROLL; u++) { m_new = max(m_new, s[u * ROWS + r]); }
      let alpha = exp(m_run[r] - m_new);
      m_run[r] = m_new;
      l_run[r] *= alpha;
      for (var j = 0u; j < QUADS; j++) { acc[r * QUADS + j] *= alpha; }
      for (var u = 0u; u < UNROLL; u++) {
        let score = s[u * ROWS + r];
        let pk = select(0.0, exp(score - m_new), score > EMPTY_LSE);
        l_run[r] += pk;
        for (var j = 0u; j < QUADS; j++) { acc[r * QUADS + j] += pk * v_lane[u * QUADS + j]; }
      }
    }
  }

  // The groups' states meet: each row's max over the groups, every group's sums rescaled to it.
  if (member && lane == 0u) {
    for (var r = 0u; r < ROWS; r++) { group_max[group * ROWS + r] = m_run[r]; }
  }
  workgroupBarrier();
  for (var r = 0u; r < ROWS; r++) {
    var row_max = EMPTY_LSE;
    for (var g = 0u; g < groups; g++) { row_max = max(row_max, group_max[g * ROWS + r]); }
    let rescale = exp(m_run[r] - row_max);
    m_run[r] = row_max;
    l_run[r] *= rescale;
    for (var j = 0u; j < QUADS; j++) { acc[r * QUADS + j] *= rescale; }
  }
  if (member && lane == 0u) {
    for (var r = 0u; r < ROWS; r++) { group_sum[group * ROWS + r] = l_run[r]; }
  }

  // The partial: O normalised, LSE; a row that saw no key gets O = 0 and LSE = EMPTY_LSE (merged as 0).
  let slot = (p.partial_base + wg.x) * p.rows * p.heads;
  for (var r0 = 0u; r0 < ROWS; r0 += MERGE_ROWS) {
    workgroupBarrier(); // the previous rows' sums are read; group_sum is written
    if (member) {
      for (var rr = 0u; rr < MERGE_ROWS; rr++) {
        if (r0 + rr < ROWS) {
          for (var j = 0u; j < QUADS; j++) {
            let d = (rr * MAX_GROUPS + group) * HEAD_DIM + lane_dim(lane, 4u * j);
            let quad = acc[(r0 + rr) * QUADS + j];
            merge_acc[d] = quad.x;
            merge_acc[d + 1u] = quad.y;
            merge_acc[d + 2u] = quad.z;
            merge_acc[d + 3u] = quad.w;
          }
        }
      }
    }
    workgroupBarrier();
    for (var e = thread; e < MERGE_ROWS * HEAD_DIM; e += THREADS) {
      let rr = e / HEAD_DIM;
      let d = e % HEAD_DIM;
      let r = r0 + rr;
      if (r < tile_rows) {
        var sum = 0.0;
        var total = 0.0;
        var row_max = EMPTY_LSE;
        for (var g = 0u; g < groups; g++) {
          sum += merge_acc[(rr * MAX_GROUPS + g) * HEAD_DIM + d];
          total += group_sum[g * ROWS + r];
          row_max = max(row_max, group_max[g * ROWS + r]);
        }
        let row = q_row_of(i_begin + r, kv_head) + slot;
        o[row * HEAD_DIM + d] = select(0.0, sum / total, total > 0.0);
        if (d == 0u) { lse[row] = select(EMPTY_LSE, row_max + log(total), total > 0.0); }
      }
    }
  }
}
