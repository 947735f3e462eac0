// What the flash tiles (flash_tile.wgsl and flash_tile_shuffled.wgsl on f32, flash_tile_tensor_cores.wgsl on tensor cores) share:
// which rows a tile holds (flash_rows), which keys a query sees, by true positions, and the
// soft-capping of scores. Causal (key position ≤
// query position) and, for a sliding-window layer, within the window (query − key position < WINDOW).
// Scores may be soft-capped (Gemma 2) before the softmax.
//
// Query rows are the flattened (position t, head g of the kv head's GQA group) pairs, i = t·group + g,
// so the heads of a group share every K/V tile load, whatever the group size.

//#include tanh

// Sliding window (Mistral v0.1, Gemma's local layers, Qwen's use_sliding_window): a key is visible only
// when its position is greater than the query's minus WINDOW. 0: no window.
override WINDOW: u32 = 0u;
// Soft-capping (Gemma 2): score → SOFTCAP · tanh(score / SOFTCAP), on the scaled score. 0: none.
override SOFTCAP: f32 = 0.0;

//#include empty_lse

// Last position of the tile's queries (i_begin < i_end): keys after it are masked for every row.
fn flash_last_position(i_end: u32, group: u32, q_first: u32) -> u32 {
  return q_first + (i_end - 1u) / group;
}

// How many of `length` keys starting at position `first` some query at or before `last` can see.
fn flash_visible_keys(length: u32, first: u32, last: u32) -> u32 {
  if (last < first) { return 0u; }
  return min(length, last - first + 1u);
}

// The q row (t·heads + h) of flattened row i of kv head `head`.
fn flash_flat_q_row(i: u32, group: u32, heads: u32, head: u32) -> u32 {
  return (i / group) * heads + head * group + i % group;
}

// The tile's rows, set by flash_rows: the kv head's flattened rows [tile_begin, tile_end) (at most ROWS,
// the tile's constant), and the row this invocation works on.
var<private> kv_head: u32;
var<private> tile_begin: u32;
var<private> tile_end: u32;
var<private> tile_group: u32;
var<private> tile_heads: u32;
var<private> row: u32;         // in the tile
var<private> row_valid: bool;
var<private> q_row: u32;       // t·heads + h: the row of q (and, offset, of o) of `row`
var<private> q_position: u32;

// The q row (t·heads + h) of tile row r.
fn flash_q_row(r: u32) -> u32 {
  return flash_flat_q_row(tile_begin + r, tile_group, tile_heads, kv_head);
}

fn flash_row_in_tile(r: u32) -> bool {
  return r < ROWS && tile_begin + r < tile_end;
}

// Sets the tile's rows (kv head `head`'s flattened rows [i_begin, i_end), queries from position
// q_first on) and this invocation's row r of it: the first part of every tile's flash_begin.
fn flash_rows(r: u32, i_begin: u32, i_end: u32, group: u32, heads: u32, head: u32, q_first: u32) {
  kv_head = head;
  tile_begin = i_begin;
  tile_end = i_end;
  tile_group = group;
  tile_heads = heads;
  row = r;
  row_valid = flash_row_in_tile(r);
  q_row = flash_q_row(r);
  q_position = q_first + (i_begin + r) / group;
}

// Whether a query at `query_position` sees the key at `key_position`.
fn flash_sees(query_position: u32, key_position: u32) -> bool {
  // query_position − key_position cannot wrap: it is evaluated only for keys at or before the query.
  return key_position <= query_position && (WINDOW == 0u || query_position - key_position < WINDOW);
}

fn flash_cap(score: f32) -> f32 {
  if (SOFTCAP > 0.0) { return SOFTCAP * stable_tanh(score / SOFTCAP); }
  return score;
}
