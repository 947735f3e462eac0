// Rotary position embedding in Hugging Face's "rotate_half" layout, in place over the queries
// x[rows, heads, head_dim] and the keys [rows, key_heads, head_dim], which a layer rotates at the same
// positions (one dispatch for both).
// For j < half (half = rotary size / 2 = length of inv_freq; dimensions past 2·half pass through):
//   angle = f32(position[row]) * inv_freq[j]     (one f32 product, as torch computes it)
//   x[j]        = x[j] * cos - x[j + half] * sin
//   x[j + half] = x[j + half] * cos + x[j] * sin  (cos and sin times attention_scaling)
// One invocation per (row, j) rotates that pair in every head, so each angle's cos/sin is computed once.
//
// Angles reach 1e5 radians and more for long documents, where WGSL's cos/sin promise nothing (and
// only 2^-11 absolute error even on [-π, π]; SwiftShader's were 2e-2 off here). So cos_sin() reduces
// the angle exactly to [-π/4, π/4] and evaluates short Taylor series there: about 1e-7 absolute error
// for angles below 4e5, on every backend.

//#include grid

//#struct Params

// Invocations per workgroup: set by the kernel's TypeScript, which counts the workgroups with it.
override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> positions: array<u32>;
@group(0) @binding(2) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> keys: array<f32>;

// Cody–Waite: π/2 = PIO2_1 + PIO2_2 + PIO2_3 + PIO2_4 (to 6e-14). The first three have at most 6
// significant bits, so k·PIO2_i is exact for quadrant counts k < 2^18 (|angle| < 4e5 radians) and so is
// each subtraction below; only the tiny k·PIO2_4 term rounds. An FMA contraction changes nothing here.
const PIO2_1 = 0x1.9p0f;          // 1.5625
const PIO2_2 = 0x1.08p-7f;        // 0.008056640625
const PIO2_3 = 0x1.fp-13f;        // 0.00023651123046875
const PIO2_4 = 0x1.aa2216p-19f;   // 3.1749394e-6
const TWO_OVER_PI = 0.63661977236758134f;

// sin and cos on [-π/4, π/4] by Taylor series to x⁹ and x⁸: truncation below 3e-8 there.
fn sin_reduced(r: f32) -> f32 {
  let r2 = r * r;
  let series = -1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 * (1.0 / 362880.0)));
  return r + r * r2 * series;
}

fn cos_reduced(r: f32) -> f32 {
  let r2 = r * r;
  let series = -0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40320.0)));
  return 1.0 + r2 * series;
}

// (cos(angle), sin(angle)) for the f32 value `angle`.
fn cos_sin(angle: f32) -> vec2f {
  let k = round(angle * TWO_OVER_PI);
  var r = angle - k * PIO2_1;
  r -= k * PIO2_2;
  r -= k * PIO2_3;
  r -= k * PIO2_4;
  let c = cos_reduced(r);
  let s = sin_reduced(r);
  // angle = r + quadrant · π/2
  switch (i32(k) & 3) {
    case 0: { return vec2f(c, s); }
    case 1: { return vec2f(-s, c); }
    case 2: { return vec2f(-c, -s); }
    default: { return vec2f(s, -c); }
  }
}

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
    let x1 = x[i];
    let x2 = x[i + p.half];
    x[i] = x1 * pair.cs.x - x2 * pair.cs.y;
    x[i + p.half] = x2 * pair.cs.x + x1 * pair.cs.y;
  }
  for (var h = 0u; h < p.key_heads; h++) {
    let i = (pair.row * p.key_heads + h) * p.head_dim + pair.j;
    let k1 = keys[i];
    let k2 = keys[i + p.half];
    keys[i] = k1 * pair.cs.x - k2 * pair.cs.y;
    keys[i + p.half] = k2 * pair.cs.x + k1 * pair.cs.y;
  }
}
