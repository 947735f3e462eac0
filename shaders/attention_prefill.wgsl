// Flash attention of query rows over one KV span, causal by position (key visible iff its position is
// at most the query's). Full-attention prefill, and the per-host partial of Star Attention's phase 2.
// Writes normalised O and the natural-log LSE of every (row, head).
//
// Workgroup (x + z·num_workgroups.x, y) takes query tile x of kv head y % kv_heads and the keys of split
// y / kv_heads: keys [split·split_keys, (split + 1)·split_keys) of those its rows can see. Split s
// writes partial slot `slot + s` of o and lse ([slot, rows, heads, headDim] and [slot, rows, heads]),
// for lse_merge; unsplit (one split of every key, slot 0), the output itself. Splits give a GPU work
// for all its cores when a piece has few query rows over many keys. See flash_tile for the tile
// (or the one src/gpu/kernels/attention.ts swaps in: flash_tile_shuffled, flash_tile_tensor_cores).

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
  let split = wg.y / p.kv_heads;
  flash_begin(local_index, i_begin, i_end, p.group, p.heads, wg.y % p.kv_heads, p.q_first, p.scale);
  let last = flash_last_position(i_end, p.group, p.q_first);
  let visible = flash_visible_keys(p.kv_length, p.kv_first, last);
  let first = min(visible, split * p.split_keys);
  flash_keys(first, min(visible, first + p.split_keys));
  flash_finish((p.slot + split) * p.rows * p.heads, i_end - i_begin);
}
