// The default f32 FlashAttention tile (see flash_tile_common.wgsl): K and then V of each key tile go
// through kv_tile, and every lane reads the vec4s of its dimensions of every key from there, an index
// shared by the rows of a subgroup (a broadcast on a GPU). Scores are summed from the lanes' partial
// dot products through partial_tile, probabilities pass through p_tile.

//#include flash_tile_common

var<workgroup> kv_tile: array<vec4f, KEYS * KV_STRIDE>;        // K of the tile, then its V
var<workgroup> partial_tile: array<f32, ROWS * KEYS * LANES>; // [row][key][lane] partial dot products

fn flash_score(c: u32) -> f32 {
  var s = 0.0;
  for (var k = 0u; k < LANES; k++) { s += partial_tile[(row * KEYS + c) * LANES + k]; }
  return flash_cap(s);
}

// Attends to keys [first, count), KEYS at a time. Callers bound `count` so that tiles masked for
// every row of the workgroup are never visited. `first` and `count` must be workgroup-uniform.
// Per tile: stage K; partial dot products; stage V while every lane finds its row's max and the
// probabilities of its keys; accumulate P·V. Keys go two at a time (KEYS is even; kv_tile rows past
// the tile's n keys are zero and their probabilities 0).
fn flash_keys(first: u32, count: u32) {
  for (var c0 = first; c0 < count; c0 += KEYS) {
    let c_end = min(count, c0 + KEYS);
    let n = c_end - c0;
    flash_stage(false, c0, n, 0u);
    workgroupBarrier();
    // The loops over the tile's keys count from c0 to c_end so that the compiler sees no constant trip
    // count: unrolled, they multiplied lavapipe's compile time by up to 10 for small head dims.
    for (var k = c0; k < c_end; k += 2u) {
      let c = k - c0;
      var s = vec2f();
      for (var j = 0u; j < VECS_PER_LANE; j++) {
        let qj = q_reg[j];
        let at = c * KV_STRIDE + j * LANES + lane;
        s += vec2f(dot(qj, kv_tile[at]), dot(qj, kv_tile[at + KV_STRIDE]));
      }
      partial_tile[(row * KEYS + c) * LANES + lane] = s.x;
      partial_tile[(row * KEYS + c + 1u) * LANES + lane] = s.y;
    }
    workgroupBarrier();
    flash_stage(true, c0, n, 0u);
    // Every lane of a row computes the same max.
    var m_new = m_run;
    for (var k = c0; k < c_end; k++) {
      if (flash_visible(k)) { m_new = max(m_new, flash_score(k - c0)); }
    }
    let alpha = exp(m_run - m_new);
    var l_new = 0.0;
    for (var c = lane; c < KEYS; c += LANES) {
      var p = 0.0;
      if (c < n && flash_visible(c0 + c)) { p = exp(flash_score(c) - m_new); }
      p_tile[row * KEYS + c] = p;
      l_new += p;
    }
    m_run = m_new;
    l_run = l_run * alpha + l_new;
    workgroupBarrier();
    for (var j = 0u; j < VECS_PER_LANE; j++) { acc[j] *= alpha; }
    for (var k = c0; k < c_end; k += 2u) {
      let c = k - c0;
      let p = vec2f(p_tile[row * KEYS + c], p_tile[row * KEYS + c + 1u]);
      for (var j = 0u; j < VECS_PER_LANE; j++) {
        let at = c * KV_STRIDE + j * LANES + lane;
        acc[j] += p.x * kv_tile[at] + p.y * kv_tile[at + KV_STRIDE];
      }
    }
    workgroupBarrier();
  }
}

