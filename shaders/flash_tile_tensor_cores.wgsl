// FlashAttention tile on tensor cores (subgroup matrices): the functions of flash_tile.wgsl (flash_begin,
// flash_keys, flash_finish) with the same contract (bindings q, o, lse; load_kv and key_position from
// the including shader; masking from flash_masking.wgsl), swapped in for it by
// src/gpu/kernels/attention.ts where the device has f16 16×16×16 → f32 subgroup matrices and subgroups
// of exactly 32 invocations (invocations 32s…32s+31 of the workgroup form subgroup s).
//
// A workgroup owns ROWS = 16·SUBGROUPS flattened query rows of one kv head; subgroup s owns rows
// 16s…16s+15. Q (times the scale), then each step's KEYS keys and values (V transposed), are rounded to
// f16 and staged in workgroup memory. Per step each subgroup computes its 16×KEYS scores S = Q·Kᵀ as
// 16×16 fragments with f32 accumulation and stores them; its 32 invocations, two per row (each one half
// of the keys), run the online softmax in f32 (mask, cap, running max and sum) and write the
// probabilities P in f16. The step's P·V is computed the same way, 32 columns at a time, stored, and
// added by the row's invocations to their O (f32, in registers as in flash_tile.wgsl) after rescaling it
// by exp(old max − new max), which is per row and so cannot be done on a fragment. No fragment outlives
// its step and none is loaded from where one was stored: P·V uses only the operations Q·Kᵀ does.

//#include flash_masking
//#include flash_fragments

const SUBGROUP = 32u;
const FRAG = 16u;          // the 16×16×16 shape
const PAD = 8u;            // halves of padding per staged row: consecutive rows start in other banks
const SCRATCH = 32u;       // columns of the f32 scratch: S (KEYS ≤ 32), then O 32 columns at a time

// Tile sizes are chosen in src/gpu/kernels/attention.ts (within flash_fragments.wgsl's arrays).
override HEAD_DIM: u32;              // a multiple of 32
override SUBGROUPS: u32 = 4u;
override KEYS: u32 = 32u;            // 16 or 32
override ROWS: u32 = FRAG * SUBGROUPS;
override THREADS: u32 = SUBGROUP * SUBGROUPS;
override STRIDE: u32 = HEAD_DIM + PAD;
override P_STRIDE: u32 = KEYS + PAD;
override D_FRAGS: u32 = HEAD_DIM / FRAG;

var<workgroup> pair_tile: array<f32, THREADS>; // per invocation: the max over its half of a row, then its sum

var<private> thread: u32;
var<private> sg: u32;         // this invocation's subgroup; its row in the tile: sg·16 + (its index in the subgroup) / 2
var<private> side: u32;       // which half of its row's keys, and of each 32 columns of O, it handles
var<private> m_run: f32;      // running max of the row's visible scores
var<private> l_run: f32;      // this invocation's share of the running sum (its half of the keys)
var<private> o_run: array<f32, 64>; // its 16 columns of each 32 of O, unnormalised (head dims ≤ 128)

// Sets up the tile (the kv head's flattened rows [i_begin, i_end)) and stages its queries, times scale.
fn flash_begin(
  local_index: u32, i_begin: u32, i_end: u32,
  group: u32, heads: u32, head: u32, q_first: u32, scale: f32,
) {
  thread = local_index;
  sg = local_index / SUBGROUP;
  side = local_index % 2u;
  flash_rows(sg * FRAG + (local_index % SUBGROUP) / 2u, i_begin, i_end, group, heads, head, q_first);
  m_run = EMPTY_LSE;
  l_run = 0.0;
  for (var e = thread; e < ROWS * HEAD_DIM; e += THREADS) {
    let r = e / HEAD_DIM;
    let d = e % HEAD_DIM;
    var v = 0.0;
    if (flash_row_in_tile(r)) { v = q[flash_q_row(r) * HEAD_DIM + d] * scale; }
    q_tile[r * STRIDE + d] = to_staged(v);
  }
  // flash_keys' first barrier makes the staged queries visible.
}

// Stages keys [key0, key0 + n) and their values, transposed, in f16, zero past n.
fn flash_stage_kv(key0: u32, n: u32) {
  for (var e = thread; e < KEYS * HEAD_DIM; e += THREADS) {
    let c = e / HEAD_DIM;
    let d = e % HEAD_DIM;
    var k = 0.0;
    var v = 0.0;
    if (c < n) {
      k = load_kv(false, key0 + c, kv_head * HEAD_DIM + d);
      v = load_kv(true, key0 + c, kv_head * HEAD_DIM + d);
    }
    k_tile[c * STRIDE + d] = to_staged(k);
    vt_tile[d * VT_STRIDE + c] = to_staged(v);
  }
}

// The subgroup's scores S = Q·Kᵀ [16][KEYS] into its scratch.
fn flash_scores() {
  for (var kf = 0u; kf < KEYS / FRAG; kf++) {
    frag_store_scratch(sg * FRAG * SCRATCH + kf * FRAG, flash_score_fragment(kf));
  }
}

// Scores of key fragment kf. Its own function: the fragment starts from zero at each call (a variable
// declared in the loop above was not zeroed again on lavapipe).
fn flash_score_fragment(kf: u32) -> Result {
  var s: Result;
  for (var df = 0u; df < D_FRAGS; df++) {
    s = frag_mma(frag_q(sg * FRAG * STRIDE + df * FRAG), frag_k(kf * FRAG * STRIDE + df * FRAG), s);
  }
  return s;
}

// The online softmax of this invocation's half of its row's keys [key0, key0 + n): updates the running
// max and sum, writes P (0 for masked keys), returns the factor exp(old max − new max) for O (1 while
// the row has seen no key, whose O is 0).
fn flash_softmax(key0: u32, n: u32) -> f32 {
  let at = (row * SCRATCH);
  let keys_per_side = KEYS / 2u;
  var m_side = EMPTY_LSE;
  for (var j = 0u; j < keys_per_side; j++) {
    let c = side * keys_per_side + j;
    var s = EMPTY_LSE;
    if (c < n && flash_sees(q_position, key_position(key0 + c))) { s = flash_cap(s_tile[at + c]); }
    s_tile[at + c] = s;
    m_side = max(m_side, s);
  }
  pair_tile[thread] = m_side;
  workgroupBarrier();
  let m_new = max(m_run, max(pair_tile[thread], pair_tile[thread ^ 1u]));
  let alpha = exp(m_run - m_new);
  var l_new = 0.0;
  for (var j = 0u; j < keys_per_side; j++) {
    let c = side * keys_per_side + j;
    let s = s_tile[at + c];
    // A masked key (EMPTY_LSE) gets 0, also while the row has seen no key (m_new = EMPTY_LSE).
    var p = 0.0;
    if (s > EMPTY_LSE) { p = exp(s - m_new); }
    p_tile[row * P_STRIDE + c] = to_staged(p);
    l_new += p;
  }
  m_run = m_new;
  l_run = l_run * alpha + l_new;
  return alpha;
}

// Columns 16·f…16·f+15 of this step's P·V. Its own function, as flash_score_fragment.
fn flash_pv_fragment(f: u32) -> Result {
  var o: Result;
  for (var kf = 0u; kf < KEYS / FRAG; kf++) {
    o = frag_mma(frag_p(sg * FRAG * P_STRIDE + kf * FRAG), frag_v(f * FRAG * VT_STRIDE + kf * FRAG), o);
  }
  return o;
}

// Adds this step's P·V, O's columns 32·chunk…32·chunk+31, to this invocation's 16 of them after scaling
// these by alpha. The first barrier orders the subgroup's stores before the reads, the second the reads
// before the next stores into the scratch.
fn flash_accumulate_o(chunk: u32, alpha: f32) {
  frag_store_scratch(sg * FRAG * SCRATCH, flash_pv_fragment(2u * chunk));
  frag_store_scratch(sg * FRAG * SCRATCH + FRAG, flash_pv_fragment(2u * chunk + 1u));
  workgroupBarrier();
  let at = row * SCRATCH + side * FRAG;
  for (var j = 0u; j < FRAG; j++) {
    let i = chunk * FRAG + j;
    o_run[i] = o_run[i] * alpha + s_tile[at + j];
  }
  workgroupBarrier();
}

// Attends to keys [first, count), KEYS at a time. Callers bound `count` so that tiles masked for every
// row of the workgroup are never visited. `first` and `count` must be workgroup-uniform.
fn flash_keys(first: u32, count: u32) {
  for (var c0 = first; c0 < count; c0 += KEYS) {
    let n = min(count - c0, KEYS);
    flash_stage_kv(c0, n); // the previous step read K, Vᵀ and P before flash_accumulate_o's barriers
    workgroupBarrier();
    flash_scores();
    workgroupBarrier();
    let alpha = flash_softmax(c0, n);
    workgroupBarrier(); // P is written, and the scores in the scratch are read
    for (var chunk = 0u; chunk < HEAD_DIM / SCRATCH; chunk++) { flash_accumulate_o(chunk, alpha); }
  }
}

// Writes the normalised output to o row q_row + row_offset (and its LSE). A row that saw no key gets
// O = 0 and LSE = EMPTY_LSE, which merging weighs as 0. `rows` is flash_tile.wgsl's (this tile writes
// its rows from registers and does not need it).
fn flash_finish(row_offset: u32, rows: u32) {
  pair_tile[thread] = l_run; // every earlier read of pair_tile is behind a barrier
  workgroupBarrier();
  let l = pair_tile[thread] + pair_tile[thread ^ 1u];
  let inv = select(0.0, 1.0 / l, l > 0.0);
  if (!row_valid) { return; }
  let base = (q_row + row_offset) * HEAD_DIM + side * FRAG;
  if (side == 0u) { lse[q_row + row_offset] = select(EMPTY_LSE, m_run + log(l), l > 0.0); }
  for (var chunk = 0u; chunk < HEAD_DIM / SCRATCH; chunk++) {
    for (var j = 0u; j < FRAG; j++) { o[base + chunk * SCRATCH + j] = o_run[chunk * FRAG + j] * inv; }
  }
}
