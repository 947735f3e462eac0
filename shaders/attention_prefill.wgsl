// Flash attention of query rows over one KV span, causal by position (key visible iff its position is
// at most the query's). Full-attention prefill, and the per-host partial of Star Attention's phase 2.
// Writes normalised O and the natural-log LSE of every (row, head).
//
// Workgroup (x + z·num_workgroups.x, y) takes query tile x of kv head y; see flash_tile for the tile.

//#struct Params

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<kv_word>;
@group(0) @binding(3) var<storage, read> values: array<kv_word>;
@group(0) @binding(4) var<storage, read_write> o: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;

//#include kv_f32
//#include flash_tile

fn load_kv(is_value: bool, key: u32, e: u32) -> f32 {
  let index = (p.kv_start + key) * p.kv_heads * HEAD_DIM + e;
  if (is_value) { return kv_unpack(values[index / KV_PER_WORD], index); }
  return kv_unpack(keys[index / KV_PER_WORD], index);
}

fn key_position(key: u32) -> u32 { return p.kv_first + key; }

@compute @workgroup_size(THREADS)
fn main(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) local_index: u32,
) {
  let i_begin = (wg.z * groups.x + wg.x) * ROWS;
  let i_all = p.rows * p.group;
  if (i_begin >= i_all) { return; }
  let i_end = min(i_begin + ROWS, i_all);
  flash_begin(local_index, i_begin, i_end, p.group, p.heads, wg.y, p.q_first, p.scale);
  let last = flash_last_position(i_end, p.group, p.q_first);
  flash_keys(flash_visible_keys(p.kv_length, p.kv_first, last));
  flash_finish(0u, i_end - i_begin);
}
