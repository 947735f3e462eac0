// Weight reads for q8: int8 values four to a u32 (element e in byte e % 4 of word e / 4), one f16
// scale per 32 consecutive elements, two to a u32 at binding 5 (group g in the low half of word g / 2
// when g is even); value = q · scale. Layout: src/gpu/kernels/weight-format.ts. Same functions as
// shaders/weight_f32.wgsl. Binding 2 is read 16 bytes at a time for a chunk (one group: one scale).
//#include weight_q_scales

@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read> w_scales: array<u32>;

fn q8_scale(e: u32) -> f32 {
  let g = e / 32u;
  return q_f16_to_f32((w_scales[g / 2u] >> ((g % 2u) * 16u)) & 0xffffu);
}

/** The four int8 values of a word. */
fn q8_values(word: u32) -> vec4<f32> {
  let v = bitcast<i32>(word);
  // Arithmetic shifts sign-extend each byte.
  return vec4<f32>(vec4<i32>((v << 24u) >> 24u, (v << 16u) >> 24u, (v << 8u) >> 24u, v >> 24u));
}

fn weight4(e: u32) -> vec4<f32> { return q8_values(w[e / 16u][(e / 4u) % 4u]) * q8_scale(e); }

fn weight1(e: u32) -> f32 {
  let q = (bitcast<i32>(w[e / 16u][(e / 4u) % 4u]) << ((3u - e % 4u) * 8u)) >> 24u;
  return f32(q) * q8_scale(e);
}

struct WeightChunk {
  words: array<vec4<u32>, 2>,
  scale: f32,
}

fn weight_chunk(e: u32) -> WeightChunk {
  let at = e / 16u;
  return WeightChunk(array(w[at], w[at + 1u]), q8_scale(e));
}

fn chunk_vec4(c: WeightChunk, i: u32) -> vec4<f32> { return q8_values(c.words[i / 4u][i % 4u]) * c.scale; }
