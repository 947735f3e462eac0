// Weight reads for q8: int8 values four to a u32 (element e in byte e % 4 of word e / 4), one f16
// scale per 32 consecutive elements, two to a u32 at binding 5 (group g in the low half of word g / 2
// when g is even); value = q · scale. Layout: src/gpu/kernels/weight-format.ts. Same functions as
// shaders/weight_f32.wgsl.
//#include weight_q_scales

@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(5) var<storage, read> w_scales: array<u32>;

fn q8_scale(e: u32) -> f32 {
  let g = e / 32u;
  return q_f16_to_f32((w_scales[g / 2u] >> ((g % 2u) * 16u)) & 0xffffu);
}

fn weight4(e: u32) -> vec4<f32> {
  let word = bitcast<i32>(w[e / 4u]);
  // Arithmetic shifts sign-extend each byte.
  let q = vec4<i32>((word << 24u) >> 24u, (word << 16u) >> 24u, (word << 8u) >> 24u, word >> 24u);
  return vec4<f32>(q) * q8_scale(e);
}

fn weight1(e: u32) -> f32 {
  let q = (bitcast<i32>(w[e / 4u]) << ((3u - e % 4u) * 8u)) >> 24u;
  return f32(q) * q8_scale(e);
}
