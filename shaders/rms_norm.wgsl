// RMS normalization over the last dimension, as Hugging Face's LlamaRMSNorm computes it in float32:
//   y = weight * (x / sqrt(mean(x²) + eps))
// Gemma's norms scale by (1 + weight) instead (WEIGHT_OFFSET = 1; the sum rounds to f32 first, as
// torch's `1.0 + self.weight.float()`). With ACCUMULATE, main adds the result to y (Gemma's norms after
// attention and after the MLP, straight into the residual stream).
// Three entry points:
//   main      x[rows, dim] -> y[rows, dim], one workgroup of 256 per row (hidden-size rows);
//   in_place  x[rows, dim] normalized in place, one workgroup of 64 per row — Qwen3's q_norm/k_norm,
//             where a "row" is one head's vector of head_dim elements;
//   heads_in_place  in_place over a fused q, k, v projection's rows x[rows, stride]: each row's `heads`
//             query heads (from column 0) by `weight` and its `key_heads` key heads (right after) by
//             `key_weight`, the values left as they are — q_norm and k_norm in one dispatch.
// The weight's element type is the alias `W` (f32 or f16).

//#include grid
//#include workgroup_reduce

override WEIGHT_OFFSET: f32 = 0.0;
override ACCUMULATE: bool = false;

//#struct Params

@group(0) @binding(0) var<uniform> p: Params;
// main:
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<W>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
// in_place and heads_in_place (binding 2 is `weight` again):
@group(0) @binding(1) var<storage, read_write> x_inout: array<f32>;
// heads_in_place:
@group(0) @binding(4) var<storage, read> key_weight: array<W>;

fn inverse_rms(sum_of_squares: f32) -> f32 {
  return inverseSqrt(sum_of_squares / f32(p.dim) + p.eps);
}

fn scaled_weight(i: u32) -> f32 {
  return WEIGHT_OFFSET + f32(weight[i]);
}

// The vector x_inout[base .. base + dim) normalized in place by `weight`, or by `key_weight` for a key
// head, by the 64 invocations of the workgroup (in uniform control flow).
fn normalize_in_place(base: u32, thread: u32, key: bool) {
  var squares = 0.0;
  for (var i = thread; i < p.dim; i += 64u) {
    let v = x_inout[base + i];
    squares += v * v;
  }
  let scale = inverse_rms(workgroup_sum(thread, squares, 64u));
  for (var i = thread; i < p.dim; i += 64u) {
    let w = select(scaled_weight(i), WEIGHT_OFFSET + f32(key_weight[i]), key);
    x_inout[base + i] = w * (x_inout[base + i] * scale);
  }
}

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let row = flat_workgroup(group, groups);
  if (row >= p.rows) { return; }
  let base = row * p.dim;
  var squares = 0.0;
  for (var i = thread; i < p.dim; i += 256u) {
    let v = x[base + i];
    squares += v * v;
  }
  let scale = inverse_rms(workgroup_sum(thread, squares, 256u));
  for (var i = thread; i < p.dim; i += 256u) {
    let normed = scaled_weight(i) * (x[base + i] * scale);
    y[base + i] = select(normed, y[base + i] + normed, ACCUMULATE);
  }
}

@compute @workgroup_size(64)
fn in_place(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let row = flat_workgroup(group, groups);
  if (row >= p.rows) { return; }
  normalize_in_place(row * p.dim, thread, false);
}

@compute @workgroup_size(64)
fn heads_in_place(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let vector = flat_workgroup(group, groups);
  let per_row = p.heads + p.key_heads;
  if (vector >= p.rows * per_row) { return; }
  let head = vector % per_row;
  normalize_in_place(vector / per_row * p.stride + head * p.dim, thread, head >= p.heads);
}
