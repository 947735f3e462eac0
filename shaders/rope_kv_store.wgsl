// A layer's rotary position embedding and KV-cache append in one dispatch, from the rows of a fused
// q, k, v projection: qkv[rows, src_stride] holds each row's query heads at column 0, its key heads at
// k_col and its value heads at v_col. Row src_row + r (position positions[src_row + r]):
//   q_out[src_row + r]  = its queries rotated (shaders/rope.wgsl's arithmetic, bit for bit);
//   cache row positions[src_row + r] + dst_minus_position = its keys rotated, and its values, stored
//   in the cache's element type (shaders/kv_store.wgsl's placement and packing).
// With half = 0 (a NoPE layer) nothing is rotated and inv_freq is not read.
//
// One invocation per row, head (the query heads, then the kv heads) and cache word of a head
// (KV_PER_WORD elements), so a packed 16-bit word is written whole by one invocation, and a decoded
// token's few hundred words are written at once rather than by a loop over the heads (a chain of
// memory latencies: ~15 µs a layer on an H200). Each element e of a head takes the angle of its pair
// j = e (e < half) or e − half (e < 2·half); dimensions from 2·half on pass through.

//#include grid
//#include kv_f32
//#include rope_cos_sin

//#struct Params

// Invocations per workgroup: set by the kernel's TypeScript, which counts the workgroups with it.
override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> positions: array<u32>;
@group(0) @binding(2) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(3) var<storage, read> qkv: array<f32>;
@group(0) @binding(4) var<storage, read_write> q_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> cache_keys: array<kv_word>;
@group(0) @binding(6) var<storage, read_write> cache_values: array<kv_word>;

// Element e of the head starting at qkv[head], rotated by `cs` (cos, sin of its pair's angle), as
// rotate_pair gives x[j] (e < half) and x[j + half] (half ≤ e < 2·half).
fn rotated(head: u32, e: u32, cs: vec2f) -> f32 {
  if (e < p.half) { return rotate_pair(qkv[head + e], qkv[head + e + p.half], cs).x; }
  if (e < 2u * p.half) { return rotate_pair(qkv[head + e - p.half], qkv[head + e], cs).y; }
  return qkv[head + e];
}

// (cos, sin) · attention_scaling of element e's pair at `position`; unused past 2·half.
fn angle_of(position: u32, e: u32) -> vec2f {
  if (e >= 2u * p.half) { return vec2f(1.0, 0.0); }
  let j = select(e - p.half, e, e < p.half);
  return cos_sin(f32(position) * inv_freq[j]) * p.attention_scaling;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let index = flat_workgroup(group, groups) * WORKGROUP_SIZE + thread;
  let words_per_head = p.head_dim / KV_PER_WORD;
  let head_slots = p.heads + p.kv_heads;
  if (index >= p.rows * head_slots * words_per_head) { return; }
  let row = p.src_row + index / (head_slots * words_per_head);
  let slot = index / words_per_head % head_slots;
  let first = index % words_per_head * KV_PER_WORD;
  let last = first + KV_PER_WORD - 1u;
  let position = positions[row];
  let cs_first = angle_of(position, first);
  let cs_last = angle_of(position, last);
  let src = row * p.src_stride;

  if (slot < p.heads) {
    let head = src + slot * p.head_dim;
    let out = (row * p.heads + slot) * p.head_dim;
    q_out[out + first] = rotated(head, first, cs_first);
    if (KV_PER_WORD > 1u) { q_out[out + last] = rotated(head, last, cs_last); }
    return;
  }
  let h = slot - p.heads;
  let dst_row = u32(i32(position) + p.dst_minus_position);
  let to_word = (dst_row * p.kv_heads + h) * words_per_head + first / KV_PER_WORD;
  let key = src + p.k_col + h * p.head_dim;
  cache_keys[to_word] = kv_pack(vec2f(rotated(key, first, cs_first), rotated(key, last, cs_last)));
  let value = src + p.v_col + h * p.head_dim + first;
  cache_values[to_word] = kv_pack(vec2f(qkv[value], qkv[value + KV_PER_WORD - 1u]));
}
