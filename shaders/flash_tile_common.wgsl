// What the f32 FlashAttention tiles share (flash_tile.wgsl, the default, and flash_tile_shuffled.wgsl,
// for CPU adapters with subgroups): a workgroup owns ROWS query rows of ONE kv head and walks key tiles
// of KEYS keys through workgroup memory with an online softmax (running max, running sum, rescaled
// accumulator). Scores never leave the workgroup. The tiles differ only in flash_keys, how a tile's
// keys meet the rows' queries; this file sets the tile up (flash_begin), stages K and V (flash_stage)
// and writes the output (flash_finish).
//
// Query rows are flattened as flash_masking.wgsl says. Each row is served by LANES invocations; lane k owns the head dimensions 4k…4k+3, 4(k + LANES)…, …
// (adjacent invocations read adjacent vec4s).
//
// The keys a workgroup visits are numbered 0, 1, … (anchor then own block, or one span's keys); the
// including shader maps them to memory and positions. It declares the bindings `q` (f32 [T, heads,
// HEAD_DIM]), `o` (same layout, rows offset by flash_finish's argument) and `lse` (f32 [T, heads]), and
//   fn load_kv(is_value: bool, key: u32, e: u32) -> f32  element e of key `key`'s row [kv_heads·HEAD_DIM]
//                                                         of the keys (is_value = false) or the values,
//                                                         widened to f32 from the cache's element type
//                                                         (kv_unpack of shaders/kv_f32.wgsl or its swap);
//   fn key_position(key: u32) -> u32                    the position of key `key`.
// The tile file declares `kv_tile`, workgroup vec4s of at least KEYS·KV_STRIDE (KEYS rows), and
//   fn flash_keys(first: u32, count: u32)               attends to keys [first, count).
//
// Which keys a query sees (causal, sliding window) and soft-capping: flash_masking.wgsl, for every kernel.

//#include flash_masking

// Tile sizes are chosen (by measurement) in src/gpu/kernels/attention.ts.
override HEAD_DIM: u32;
override ROWS: u32 = 16u;
override LANES: u32 = 4u;
override KEYS: u32 = 16u;
override THREADS: u32 = ROWS * LANES;
// Head dimensions go four at a time: lane k owns vec4s k, k + LANES, … of a row.
override VECS_PER_LANE: u32 = (HEAD_DIM + 4u * LANES - 1u) / (4u * LANES);
// Row stride of kv_tile in vec4s: HEAD_DIM padded with zeros so that every lane owns VECS_PER_LANE vec4s.
override KV_STRIDE: u32 = VECS_PER_LANE * LANES;
override STAGE_FLOATS: u32 = KV_STRIDE * 4u;

// MAX_VECS_PER_LANE bounds VECS_PER_LANE: private arrays need a constant size. It is shared with
// src/gpu/kernels/attention.ts, which refuses tiles that need more.

var<workgroup> p_tile: array<f32, ROWS * KEYS>; // [row][key]: the plain tile's probabilities; the lanes' sums at the end

var<private> q_reg: array<vec4f, MAX_VECS_PER_LANE>; // this lane's dimensions of its query row, times scale
var<private> acc: array<vec4f, MAX_VECS_PER_LANE>;   // unnormalised output, same dimensions
var<private> m_run: f32;  // running max of the row's visible scores
var<private> l_run: f32;  // this lane's share of the running sum (keys k ≡ lane mod LANES)
var<private> thread: u32;
var<private> lane: u32;

// Sets up the tile (the kv head's flattened rows [i_begin, i_end)) and loads this thread's query row.
// Query rows and outputs go between global memory and the lanes' registers through kv_tile, KEYS rows
// at a time: coalesced accesses, and the register loops stay free of per-element bounds checks.
fn flash_begin(
  local_index: u32, i_begin: u32, i_end: u32,
  group: u32, heads: u32, head: u32, q_first: u32, scale: f32,
) {
  thread = local_index;
  lane = local_index % LANES;
  flash_rows(local_index / LANES, i_begin, i_end, group, heads, head, q_first);
  m_run = EMPTY_LSE;
  l_run = 0.0;
  // Bounded by the (uniform) row count rather than ROWS: the loop stays rolled, one copy of the
  // register loop to compile.
  for (var r0 = 0u; r0 < i_end - i_begin; r0 += KEYS) {
    for (var e = thread; e < KEYS * STAGE_FLOATS; e += THREADS) {
      let r = r0 + e / STAGE_FLOATS;
      let d = e % STAGE_FLOATS;
      var v = 0.0;
      if (flash_row_in_tile(r) && d < HEAD_DIM) { v = q[flash_q_row(r) * HEAD_DIM + d] * scale; }
      kv_tile[e / 4u][e % 4u] = v;
    }
    workgroupBarrier();
    if (row >= r0 && row - r0 < KEYS) {
      for (var j = 0u; j < VECS_PER_LANE; j++) { q_reg[j] = kv_tile[(row - r0) * KV_STRIDE + j * LANES + lane]; }
    }
    workgroupBarrier();
  }
}

// Stages keys [key0, key0 + n) of K (is_value = false) or V (is_value = true) in KEYS rows of
// kv_tile from vec4 `to` on, zero-padded.
fn flash_stage(is_value: bool, key0: u32, n: u32, to: u32) {
  for (var e = thread; e < KEYS * STAGE_FLOATS; e += THREADS) {
    let c = e / STAGE_FLOATS;
    let d = e % STAGE_FLOATS;
    var v = 0.0;
    if (c < n && d < HEAD_DIM) { v = load_kv(is_value, key0 + c, kv_head * HEAD_DIM + d); }
    kv_tile[to + e / 4u][e % 4u] = v;
  }
}

fn flash_visible(key: u32) -> bool {
  return flash_sees(q_position, key_position(key));
}

// Writes the normalised output to o row q_row + row_offset (and its LSE). A row that saw no key gets
// O = 0 and LSE = EMPTY_LSE, which merging weighs as 0. `rows` is i_end - i_begin of flash_begin,
// passed again because a loop around barriers needs a provably uniform bound.
fn flash_finish(row_offset: u32, rows: u32) {
  p_tile[row * KEYS + lane] = l_run; // needs LANES <= KEYS; every earlier read of p_tile is behind a barrier
  workgroupBarrier();
  var l = 0.0;
  for (var k = 0u; k < LANES; k++) { l += p_tile[row * KEYS + k]; }
  let inv = select(0.0, 1.0 / l, l > 0.0);
  if (row_valid && lane == 0u) { lse[q_row + row_offset] = select(EMPTY_LSE, m_run + log(l), l > 0.0); }
  for (var r0 = 0u; r0 < rows; r0 += KEYS) {
    workgroupBarrier();
    if (row >= r0 && row - r0 < KEYS) {
      for (var j = 0u; j < VECS_PER_LANE; j++) { kv_tile[(row - r0) * KV_STRIDE + j * LANES + lane] = acc[j] * inv; }
    }
    workgroupBarrier();
    for (var e = thread; e < KEYS * STAGE_FLOATS; e += THREADS) {
      let r = r0 + e / STAGE_FLOATS;
      let d = e % STAGE_FLOATS;
      if (flash_row_in_tile(r) && d < HEAD_DIM) { o[(flash_q_row(r) + row_offset) * HEAD_DIM + d] = kv_tile[e / 4u][e % 4u]; }
    }
  }
}
