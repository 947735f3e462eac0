// Split-KV attention (flash-decoding) for few query rows over a long cache: the span is cut into splits
// of `split` keys, one workgroup per (split, query tile, kv head), so a single decode row still spreads
// over many workgroups. Each writes its partial (normalised O and LSE, causal by position) to slot
// partial_base + split of the scratch partials [count, rows, heads, ·]; lse_merge combines them.
// Citations align the splits to a grid of positions: split x covers the span's keys
// [x·split − split_shift, (x+1)·split − split_shift) clipped to the span, so with split_shift =
// (kv_first − grid origin) mod split every split is one grid cell (attention_citations.wgsl).

struct Params {
  rows: u32,
  heads: u32,
  kv_heads: u32,
  group: u32,         // heads / kv_heads
  q_first: u32,       // position of query row 0
  kv_start: u32,      // buffer row of the span's first key
  kv_length: u32,
  kv_first: u32,      // position of the span's first key
  scale: f32,
  split: u32,         // keys per split, a multiple of KEYS
  partial_base: u32,  // partial slot of this span's first split
  split_shift: u32,   // < split: keys of the first split's grid cell that lie before the span (0: none)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<f32>;
@group(0) @binding(3) var<storage, read> values: array<f32>;
@group(0) @binding(4) var<storage, read_write> o: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;

//#include flash_tile

var<private> split_first: u32; // the split's first key in the span

fn load_kv(is_value: bool, key: u32, e: u32) -> f32 {
  let index = (p.kv_start + split_first + key) * p.kv_heads * HEAD_DIM + e;
  if (is_value) { return values[index]; }
  return keys[index];
}

fn key_position(key: u32) -> u32 { return p.kv_first + split_first + key; }

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) local_index: u32) {
  let i_begin = wg.y * ROWS;
  let i_end = min(i_begin + ROWS, p.rows * p.group);
  flash_begin(local_index, i_begin, i_end, p.group, p.heads, wg.z, p.q_first, p.scale);
  let cell = wg.x * p.split;
  let s0 = max(cell, p.split_shift) - p.split_shift;
  split_first = s0;
  let last = flash_last_position(i_end, p.group, p.q_first);
  let s_end = min(cell + p.split - p.split_shift, p.kv_length);
  flash_keys(flash_visible_keys(s_end - s0, p.kv_first + s0, last));
  flash_finish((p.partial_base + wg.x) * p.rows * p.heads, i_end - i_begin);
}
