// f16 bits to f32, exact for every finite value subnormals included: the quantized formats' scales are
// f16, and unpack2x16float may flush subnormals (a tiny scale would become 0, its whole group zero).
fn q_f16_to_f32(h: u32) -> f32 {
  let sign = (h & 0x8000u) << 16u;
  let exponent = (h >> 10u) & 0x1fu;
  let mantissa = h & 0x3ffu;
  if (exponent == 0u) {
    // mantissa · 2^-24, both exact in f32
    let magnitude = f32(mantissa) * 5.9604644775390625e-8;
    return select(magnitude, -magnitude, sign != 0u);
  }
  return bitcast<f32>(sign | ((exponent + 112u) << 23u) | (mantissa << 13u));
}
