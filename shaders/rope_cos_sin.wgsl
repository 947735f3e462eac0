// (cos, sin) of RoPE's angles and the rotation of a pair by them, for shaders/rope.wgsl and
// shaders/rope_kv_store.wgsl.
//
// Angles reach 1e5 radians and more for long documents, where WGSL's cos/sin promise nothing (and
// only 2^-11 absolute error even on [-π, π]; SwiftShader's were 2e-2 off here). So cos_sin() reduces
// the angle exactly to [-π/4, π/4] and evaluates short Taylor series there: about 1e-7 absolute error
// for angles below 4e5, on every backend.

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

// The pair (x1, x2) = (x[j], x[j + half]) rotated by the angle whose (cos, sin) is `cs`.
fn rotate_pair(x1: f32, x2: f32, cs: vec2f) -> vec2f {
  return vec2f(x1 * cs.x - x2 * cs.y, x2 * cs.x + x1 * cs.y);
}
