// Appends rows of keys and values to a KV cache chunk: dst[dst_row + r] = src[src_row + r] for both,
// rows of `width` floats. A dispatch instead of two buffer copies keeps a decoded token's whole
// forward pass in one compute pass (a copy must be recorded outside one).

//#include grid

struct Params {
  rows: u32,
  width: u32,    // floats per row: kv_heads · head_dim
  src_row: u32,
  dst_row: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> keys: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> cache_keys: array<f32>;
@group(0) @binding(4) var<storage, read_write> cache_values: array<f32>;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let e = flat_workgroup(group, groups) * 256u + thread;
  if (e >= p.rows * p.width) { return; }
  let from_index = p.src_row * p.width + e;
  let to_index = p.dst_row * p.width + e;
  cache_keys[to_index] = keys[from_index];
  cache_values[to_index] = values[from_index];
}
