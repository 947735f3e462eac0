// Split-KV attention (flash-decoding) for few query rows over a long cache: the span is cut into splits
// of `split` keys, one workgroup per (split, query tile, kv head), so a single decode row still spreads
// over many workgroups. Each writes its partial (normalised O and LSE, causal by position) to slot
// partial_base + split of the scratch partials [count, rows, heads, ·]; lse_merge combines them.
// The queries' first position is read from `positions` rather than the parameters, so that the
// parameters stay the same from one decoded token to the next (their commands are replayed): the
// span may then reach past the keys written so far, which sit at later positions and are never visited.
// Citations align the splits to a grid of positions: split x covers the span's keys
// [x·split − split_shift, (x+1)·split − split_shift) clipped to the span, so with split_shift =
// (kv_first − grid origin) mod split every split is one grid cell (attention_citations.wgsl).
//
// Unlike the prefill tiles (flash_tile.wgsl), which stage keys through workgroup memory for many query
// rows, decoding has a handful of rows (one token's GQA group) and many keys, so the work is laid out
// by key: in each step of KEYS keys, invocation c computes key c's scores for every row of the tile
// straight from memory (the tile's queries are in workgroup memory, read by all), the rows' running
// max and sum advance (online softmax, each row's keys shared out over THREADS / ROWS invocations), and
// then each invocation accumulates P·V for its own head dimensions of every row, reading each value row
// with consecutive invocations on consecutive elements. A decode has few workgroups per GPU core, so
// the time goes to memory latency unless each invocation has many loads in flight: a key row is
// loaded in chunks of KEY_WORDS words before any is used, and values VALUE_BATCH keys at a time.
//
// Query rows are the flattened (position t, head g of the kv head's GQA group) pairs, i = t·group + g.

//#include tanh
//#include kv_f32
//#include empty_lse

//#struct Params

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<kv_word>;   // the cache's element type (kv_f32 or a swap)
@group(0) @binding(3) var<storage, read> values: array<kv_word>;
@group(0) @binding(4) var<storage, read_write> o: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read> positions: array<u32>; // [0]: the position of query row 0

// Sliding window and soft-capping, as in flash_tile.wgsl: 0 = none.
override WINDOW: u32 = 0u;
override SOFTCAP: f32 = 0.0;
override HEAD_DIM: u32;
override ROWS: u32 = 8u;          // query rows per tile, at most MAX_ROWS
const KEYS = 64u;                 // keys per step, one per invocation
const THREADS = KEYS;
const MAX_ROWS = 16u;
// Head dimensions per invocation in P·V: d = thread, thread + THREADS, …
override DIMS: u32 = (HEAD_DIM + THREADS - 1u) / THREADS;
const MAX_DIMS = 4u;              // HEAD_DIM ≤ 256
// Set by src/gpu/kernels/attention.ts (decodeLoadBatches): KEY_WORDS, words of a key row loaded before
// they are used, and VALUE_BATCH, keys whose values are loaded before they are used.
// The online softmax shares each row's KEYS scores out over LANES invocations.
override LANES: u32 = THREADS / ROWS;

var<workgroup> q_tile: array<f32, ROWS * HEAD_DIM>;   // [row][dim], scaled
var<workgroup> p_tile: array<f32, ROWS * KEYS>;       // [row][key]: scores, then probabilities
var<workgroup> m_run: array<f32, ROWS>;               // running max of each row's visible scores
var<workgroup> l_run: array<f32, ROWS>;               // running sum of exp(score − m_run)
var<workgroup> alpha: array<f32, ROWS>;               // this step's rescaling of each row's sums
var<workgroup> key_count: u32;
var<workgroup> lane_stat: array<f32, THREADS>;        // [row][lane]: a lane's max, then its sum

var<private> acc: array<f32, MAX_DIMS * MAX_ROWS>;    // [dim j][row]: unnormalised output

// The q row (t·heads + h) of flattened query row i of kv head `kv_head`.
fn q_row_of(i: u32, kv_head: u32) -> u32 {
  return (i / p.group) * p.heads + kv_head * p.group + i % p.group;
}

fn visible(key_position: u32, query_position: u32) -> bool {
  return key_position <= query_position && (WINDOW == 0u || query_position - key_position < WINDOW);
}

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) thread: u32) {
  let kv_head = wg.z;
  let i_begin = wg.y * ROWS;
  let tile_rows = min(ROWS, p.rows * p.group - i_begin);
  let q_first = positions[0];
  let kv_stride = p.kv_heads * HEAD_DIM;

  for (var e = thread; e < ROWS * HEAD_DIM; e += THREADS) {
    let r = e / HEAD_DIM;
    var v = 0.0;
    if (r < tile_rows) { v = q[q_row_of(i_begin + r, kv_head) * HEAD_DIM + e % HEAD_DIM] * p.scale; }
    q_tile[e] = v;
  }
  if (thread < ROWS) {
    m_run[thread] = EMPTY_LSE;
    l_run[thread] = 0.0;
  }

  // Keys of this split that some row of the tile can see: none past the last row's position.
  let cell = wg.x * p.split;
  let s0 = max(cell, p.split_shift) - p.split_shift;
  let s_end = min(cell + p.split - p.split_shift, p.kv_length);
  let first_position = p.kv_first + s0;
  let last_query = q_first + (i_begin + tile_rows - 1u) / p.group;
  if (thread == 0u) {
    var visible_keys = 0u;
    if (s0 < s_end && last_query >= first_position) {
      visible_keys = min(s_end - s0, last_query - first_position + 1u);
    }
    key_count = visible_keys;
  }
  // Also the barrier after the tile's set-up.
  let count = workgroupUniformLoad(&key_count);

  for (var c0 = 0u; c0 < count; c0 += KEYS) {
    // Scores: invocation c for key c0 + c, every row.
    let c = c0 + thread;
    if (c < count) {
      // Initialised explicitly: an array left to WGSL's implicit zeroing, declared in this loop, kept the
      // previous step's sums on lavapipe and SwiftShader (a split of more than one step scored its later
      // steps' keys wrong).
      var s = array<f32, MAX_ROWS>();
      let key = (p.kv_start + s0 + c) * kv_stride + kv_head * HEAD_DIM;
      // A row may start mid-word (an odd head dim in a 16-bit cache): one word more than KEY_WORDS.
      for (var w0 = 0u; w0 * KV_PER_WORD < HEAD_DIM; w0 += KEY_WORDS) {
        var words: array<kv_word, KEY_WORDS + 1u>;
        for (var w = 0u; w <= KEY_WORDS; w++) { words[w] = keys[min(key / KV_PER_WORD + w0 + w, arrayLength(&keys) - 1u)]; }
        for (var e = 0u; e < KEY_WORDS * KV_PER_WORD; e++) {
          let d = w0 * KV_PER_WORD + e;
          if (d < HEAD_DIM) {
            let element = key + d;
            let k = kv_unpack(words[element / KV_PER_WORD - key / KV_PER_WORD - w0], element);
            for (var r = 0u; r < ROWS; r++) { s[r] += q_tile[r * HEAD_DIM + d] * k; }
          }
        }
      }
      for (var r = 0u; r < ROWS; r++) {
        var score = s[r];
        if (SOFTCAP > 0.0) { score = SOFTCAP * stable_tanh(score / SOFTCAP); }
        let query_position = q_first + (i_begin + r) / p.group;
        p_tile[r * KEYS + thread] = select(EMPTY_LSE, score, r < tile_rows && visible(first_position + c, query_position));
      }
    } else {
      for (var r = 0u; r < ROWS; r++) { p_tile[r * KEYS + thread] = EMPTY_LSE; }
    }
    workgroupBarrier();
    // Online softmax: lane l of row r takes the step's keys l, l + LANES, …; the lanes' maxima and
    // then sums meet in lane_stat.
    let n = min(KEYS, count - c0);
    let r = thread / LANES;
    let lane = thread % LANES;
    var lane_max = EMPTY_LSE;
    for (var k = lane; k < n; k += LANES) { lane_max = max(lane_max, p_tile[r * KEYS + k]); }
    lane_stat[thread] = lane_max;
    workgroupBarrier();
    var m_new = m_run[r];
    for (var l = 0u; l < LANES; l++) { m_new = max(m_new, lane_stat[r * LANES + l]); }
    var lane_sum = 0.0;
    for (var k = lane; k < n; k += LANES) {
      let score = p_tile[r * KEYS + k];
      let pk = select(0.0, exp(score - m_new), score > EMPTY_LSE);
      p_tile[r * KEYS + k] = pk;
      lane_sum += pk;
    }
    workgroupBarrier(); // every lane has read lane_stat's maxima and m_run
    lane_stat[thread] = lane_sum;
    workgroupBarrier();
    if (lane == 0u) {
      var sum = 0.0;
      for (var l = 0u; l < LANES; l++) { sum += lane_stat[r * LANES + l]; }
      alpha[r] = exp(m_run[r] - m_new);
      l_run[r] = l_run[r] * alpha[r] + sum;
      m_run[r] = m_new;
    }
    workgroupBarrier();
    // P·V: invocation thread owns dimensions thread, thread + THREADS, … of every row.
    for (var j = 0u; j < DIMS; j++) {
      for (var r = 0u; r < ROWS; r++) { acc[j * MAX_ROWS + r] *= alpha[r]; }
    }
    for (var k0 = 0u; k0 < n; k0 += VALUE_BATCH) {
      for (var j = 0u; j < DIMS; j++) {
        let d = min(thread + j * THREADS, HEAD_DIM - 1u);
        var v: array<f32, VALUE_BATCH>;
        for (var b = 0u; b < VALUE_BATCH; b++) {
          // Keys past n (the step's last batch) read the step's last key again and weigh 0.
          let value = (p.kv_start + s0 + c0 + min(k0 + b, n - 1u)) * kv_stride + kv_head * HEAD_DIM + d;
          v[b] = kv_unpack(values[value / KV_PER_WORD], value);
        }
        if (thread + j * THREADS < HEAD_DIM) {
          for (var b = 0u; b < VALUE_BATCH; b++) {
            if (k0 + b < n) {
              for (var r = 0u; r < ROWS; r++) { acc[j * MAX_ROWS + r] += p_tile[r * KEYS + k0 + b] * v[b]; }
            }
          }
        }
      }
    }
    workgroupBarrier();
  }

  // The partial: O normalised, LSE; a row that saw no key gets O = 0 and LSE = EMPTY_LSE (merged as 0).
  let slot = (p.partial_base + wg.x) * p.rows * p.heads;
  for (var r = 0u; r < tile_rows; r++) {
    let l = l_run[r];
    let inv = select(0.0, 1.0 / l, l > 0.0);
    let row = q_row_of(i_begin + r, kv_head) + slot;
    for (var j = 0u; j < DIMS; j++) {
      let d = thread + j * THREADS;
      if (d < HEAD_DIM) { o[row * HEAD_DIM + d] = acc[j * MAX_ROWS + r] * inv; }
    }
    if (thread == 0u) { lse[row] = select(EMPTY_LSE, m_run[r] + log(l), l > 0.0); }
  }
}
