// tanh for any f32: WGSL's tanh may be computed as (e^2x − 1)/(e^2x + 1), which overflows to NaN for
// large |x| on some backends; exp of a non-positive number never overflows. Absolute error about 1e-7
// (the error of exp near 1 for small |x|): what GELU (tanh) and soft-capping need.
fn stable_tanh(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}
