// Appends rows of keys and values to a KV cache chunk, each row at the place its position gives:
// source row src_row + r (position positions[src_row + r]) goes to cache row
// positions[src_row + r] + dst_minus_position, for both; rows of `width` f32 elements, stored in the
// cache's element type (shaders/kv_f32.wgsl or a swap). Placing rows by their position rather than by
// a row number in the parameters keeps the parameters the same for every token decoded within one run
// of positions, so a decoded token's recorded commands can be replayed (src/gpu/gpu.ts). A dispatch
// instead of two buffer copies keeps a decoded token's whole forward pass in one compute pass (a copy
// must be recorded outside one), and converts f32 to a 16-bit cache on the way.

//#include grid
//#include kv_f32

//#struct Params

// Invocations per workgroup: set by the kernel's TypeScript, which counts the workgroups with it.
override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> keys: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> cache_keys: array<kv_word>;
@group(0) @binding(4) var<storage, read_write> cache_values: array<kv_word>;
@group(0) @binding(5) var<storage, read> positions: array<u32>;

// One invocation a cache word: the KV_PER_WORD elements it holds. With one element a word, the pair's
// second element is the first read again (and ignored by kv_pack).
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let word = flat_workgroup(group, groups) * WORKGROUP_SIZE + thread;
  let words_per_row = p.width / KV_PER_WORD;
  if (word >= p.rows * words_per_row) { return; }
  let r = word / words_per_row;
  let dst_row = u32(i32(positions[p.src_row + r]) + p.dst_minus_position);
  let first = p.src_row * p.width + word * KV_PER_WORD;
  let last = first + KV_PER_WORD - 1u;
  let to_word = dst_row * words_per_row + word % words_per_row;
  cache_keys[to_word] = kv_pack(vec2f(keys[first], keys[last]));
  cache_values[to_word] = kv_pack(vec2f(values[first], values[last]));
}
