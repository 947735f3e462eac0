// Rotary position embedding in Hugging Face's "rotate_half" layout, in place over the queries
// x[rows, heads, head_dim] and the keys [rows, key_heads, head_dim], which a layer rotates at the same
// positions (one dispatch for both).
// For j < half (half = rotary size / 2 = length of inv_freq; dimensions past 2·half pass through):
//   angle = f32(position[row]) * inv_freq[j]     (one f32 product, as torch computes it)
//   x[j]        = x[j] * cos - x[j + half] * sin
//   x[j + half] = x[j + half] * cos + x[j] * sin  (cos and sin times attention_scaling)
// One invocation per (row, j) rotates that pair in every head, so each angle's cos/sin is computed once.
//
// The angles' cos and sin: shaders/rope_cos_sin.wgsl.

//#include grid
//#include rope_cos_sin

//#struct Params

// Invocations per workgroup: set by the kernel's TypeScript, which counts the workgroups with it.
override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> positions: array<u32>;
@group(0) @binding(2) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> keys: array<f32>;

// The pair of dimensions (j, j + half) of one row that an invocation rotates, and its (cos, sin) ·
// attention_scaling.
struct Pair {
  row: u32,
  j: u32,
  cs: vec2f,
}

fn pair_of(index: u32) -> Pair {
  let row = index / p.half;
  let j = index % p.half;
  return Pair(row, j, cos_sin(f32(positions[row]) * inv_freq[j]) * p.attention_scaling);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let index = flat_workgroup(group, groups) * WORKGROUP_SIZE + thread;
  if (index >= p.rows * p.half) { return; }
  let pair = pair_of(index);
  for (var h = 0u; h < p.heads; h++) {
    let i = (pair.row * p.heads + h) * p.head_dim + pair.j;
    let rotated = rotate_pair(x[i], x[i + p.half], pair.cs);
    x[i] = rotated.x;
    x[i + p.half] = rotated.y;
  }
  for (var h = 0u; h < p.key_heads; h++) {
    let i = (pair.row * p.key_heads + h) * p.head_dim + pair.j;
    let rotated = rotate_pair(keys[i], keys[i + p.half], pair.cs);
    keys[i] = rotated.x;
    keys[i + p.half] = rotated.y;
  }
}
