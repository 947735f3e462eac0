// RMS normalization over the last dimension, as Hugging Face's LlamaRMSNorm computes it in float32:
//   y = weight * (x / sqrt(mean(x²) + eps))
// Gemma's norms scale by (1 + weight) instead (WEIGHT_OFFSET = 1; the sum rounds to f32 first, as
// torch's `1.0 + self.weight.float()`). With ACCUMULATE, main adds the result to y (Gemma's norms after
// attention and after the MLP, straight into the residual stream).
// Two entry points:
//   main      x[rows, dim] -> y[rows, dim], one workgroup of 256 per row (hidden-size rows);
//   in_place  x[rows, dim] normalized in place, one workgroup of 64 per row — Qwen3's q_norm/k_norm,
//             where a "row" is one head's vector of head_dim elements.
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
// in_place (binding 2 is `weight` again):
@group(0) @binding(1) var<storage, read_write> x_inout: array<f32>;

fn inverse_rms(sum_of_squares: f32) -> f32 {
  return inverseSqrt(sum_of_squares / f32(p.dim) + p.eps);
}

fn scaled_weight(i: u32) -> f32 {
  return WEIGHT_OFFSET + f32(weight[i]);
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
  let base = row * p.dim;
  var squares = 0.0;
  for (var i = thread; i < p.dim; i += 64u) {
    let v = x_inout[base + i];
    squares += v * v;
  }
  let scale = inverse_rms(workgroup_sum(thread, squares, 64u));
  for (var i = thread; i < p.dim; i += 64u) {
    x_inout[base + i] = scaled_weight(i) * (x_inout[base + i] * scale);
  }
}
