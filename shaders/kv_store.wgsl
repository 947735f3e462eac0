// Appends rows of keys and values to a KV cache chunk, each row at the place its position gives:
// source row src_row + r (position positions[src_row + r]) goes to cache row
// positions[src_row + r] + dst_minus_position, for both, rows of `width` floats. Placing rows by their
// position rather than by a row number in the parameters keeps the parameters the same for every
// token decoded within one run of positions, so a decoded token's recorded commands can be replayed
// (src/gpu/gpu.ts). A dispatch instead of two buffer copies keeps a decoded token's whole forward pass
// in one compute pass (a copy must be recorded outside one).

//#include grid

struct Params {
  rows: u32,
  width: u32,               // floats per row: kv_heads · head_dim
  src_row: u32,
  dst_minus_position: i32,  // cache row − position, the same for every row of one run
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> keys: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> cache_keys: array<f32>;
@group(0) @binding(4) var<storage, read_write> cache_values: array<f32>;
@group(0) @binding(5) var<storage, read> positions: array<u32>;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let e = flat_workgroup(group, groups) * 256u + thread;
  if (e >= p.rows * p.width) { return; }
  let r = e / p.width;
  let dst_row = u32(i32(positions[p.src_row + r]) + p.dst_minus_position);
  let from_index = p.src_row * p.width + e;
  let to_index = dst_row * p.width + e % p.width;
  cache_keys[to_index] = keys[from_index];
  cache_values[to_index] = values[from_index];
}
