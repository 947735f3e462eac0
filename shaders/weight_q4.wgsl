// Weight reads for q4 and q4g128: uint4 values eight to a u32 (element e in bits 4·(e % 8) of word
// e / 8); per group of q4_group_size consecutive elements one u32 at binding 5 holding two f16, the
// scale (low half) and the zero point (high half); value = (q − zero) · scale. Layout:
// src/gpu/kernels/weight-format.ts. Same functions as shaders/weight_f32.wgsl. The group size comes
// from an include a pipeline swaps (weight_q4_group32 → weight_q4_group128), so the kernels that
// call weight4/weight1 pass nothing more; a constant lets the division become a shift. Binding 2 is
// read 16 bytes (a chunk of 32 elements, inside one group) at a time.
//#include weight_q_scales
//#include weight_q4_group32

@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read> w_scales: array<u32>;

// A chunk's 32 elements share one scale and zero point.
const_assert q4_group_size % 32u == 0u;

/** (scale, zero) of the group holding element e. */
fn q4_group(e: u32) -> vec2<f32> {
  let packed = w_scales[e / q4_group_size];
  return vec2<f32>(q_f16_to_f32(packed & 0xffffu), q_f16_to_f32(packed >> 16u));
}

/** The four values in the low 16 bits of `half`, dequantized with `g`. */
fn q4_values(half: u32, g: vec2<f32>) -> vec4<f32> {
  let q = vec4<u32>(half & 0xfu, (half >> 4u) & 0xfu, (half >> 8u) & 0xfu, (half >> 12u) & 0xfu);
  return (vec4<f32>(q) - g.y) * g.x;
}

fn weight4(e: u32) -> vec4<f32> {
  // e is a multiple of 4: its four nibbles are the low or the high half of one word.
  return q4_values(w[e / 32u][(e / 8u) % 4u] >> ((e % 8u) * 4u), q4_group(e));
}

fn weight1(e: u32) -> f32 {
  let q = (w[e / 32u][(e / 8u) % 4u] >> ((e % 8u) * 4u)) & 0xfu;
  let g = q4_group(e);
  return (f32(q) - g.y) * g.x;
}

struct WeightChunk {
  words: vec4<u32>,
  group: vec2<f32>,
}

fn weight_chunk(e: u32) -> WeightChunk { return WeightChunk(w[e / 32u], q4_group(e)); }

fn chunk_vec4(c: WeightChunk, i: u32) -> vec4<f32> { return q4_values(c.words[i / 2u] >> ((i % 2u) * 16u), c.group); }
