// Star Attention phase 1 for a batch of blocks (never block 0): query rows [j·block_size, (j+1)·block_size)
// belong to block j and see every anchor key plus the keys of their own block, causally by position.
// The anchor and the blocks are two KV sources read in the same pass; key row r of `blocks` belongs to the
// same block as query row r. Only the anchor's tiles and the causal part of the own block are visited.
//
// Workgroup (x, y, z) takes query tile x of block y for kv head z; see flash_tile for the tile (or the
// one src/gpu/kernels/attention.ts swaps in: flash_tile_shuffled, flash_tile_tensor_cores).

//#struct Params

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> anchor_keys: array<kv_word>;
@group(0) @binding(3) var<storage, read> anchor_values: array<kv_word>;
@group(0) @binding(4) var<storage, read> block_keys: array<kv_word>;
@group(0) @binding(5) var<storage, read> block_values: array<kv_word>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;
@group(0) @binding(7) var<storage, read_write> lse: array<f32>;

//#include kv_f32
//#include flash_tile

// The workgroup's keys: the visible anchor keys, then its own block's.
var<private> anchor_count: u32;
var<private> own_row: u32; // row of the own block's first key in the blocks span

fn load_kv(is_value: bool, key: u32, e: u32) -> f32 {
  let stride = p.kv_heads * HEAD_DIM;
  if (key < anchor_count) {
    let index = (p.anchor_start + key) * stride + e;
    if (is_value) { return kv_unpack(anchor_values[index / KV_PER_WORD], index); }
    return kv_unpack(anchor_keys[index / KV_PER_WORD], index);
  }
  let index = (p.blocks_start + own_row + key - anchor_count) * stride + e;
  if (is_value) { return kv_unpack(block_values[index / KV_PER_WORD], index); }
  return kv_unpack(block_keys[index / KV_PER_WORD], index);
}

fn key_position(key: u32) -> u32 {
  if (key < anchor_count) { return p.anchor_first + key; }
  return p.blocks_first + own_row + key - anchor_count;
}

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) local_index: u32) {
  let block_row = wg.y * p.block_size;
  let block_end = min(block_row + p.block_size, p.rows);
  let i_begin = block_row * p.group + wg.x * ROWS;
  let i_all = block_end * p.group;
  if (i_begin >= i_all) { return; }
  let i_end = min(i_begin + ROWS, i_all);
  flash_begin(local_index, i_begin, i_end, p.group, p.heads, wg.z, p.q_first, p.scale);
  let last = flash_last_position(i_end, p.group, p.q_first);
  // Locals, not the private copies: the key count must be provably uniform.
  let anchor_visible = flash_visible_keys(p.anchor_length, p.anchor_first, last);
  let own_length = min(p.block_size, max(p.blocks_length, block_row) - block_row);
  anchor_count = anchor_visible;
  own_row = block_row;
  flash_keys(0u, anchor_visible + flash_visible_keys(own_length, p.blocks_first + block_row, last));
  flash_finish(0u, i_end - i_begin);
}
