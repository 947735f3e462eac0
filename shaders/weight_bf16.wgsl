// Weight reads for bf16 weights stored as on disk, two to a u32: a bf16 is the top half of an f32, so
// widening is a shift or a mask, exact. Same functions as shaders/weight_f32.wgsl. Binding 2 is read
// 16 bytes (eight elements) at a time, a whole word for a chunk's loads.

@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;

/** Elements 4j..4j+3 of the eight in `words`. */
fn bf16_vec4(words: vec4<u32>, j: u32) -> vec4<f32> {
  let pair = select(words.xy, words.zw, j % 2u == 1u);
  return vec4<f32>(
    bitcast<f32>(pair.x << 16u),
    bitcast<f32>(pair.x & 0xffff0000u),
    bitcast<f32>(pair.y << 16u),
    bitcast<f32>(pair.y & 0xffff0000u),
  );
}

fn weight4(e: u32) -> vec4<f32> { return bf16_vec4(w[e / 8u], e / 4u); }

fn weight1(e: u32) -> f32 {
  let word = w[e / 8u][(e / 2u) % 4u];
  return bitcast<f32>(select(word << 16u, word & 0xffff0000u, e % 2u == 1u));
}

alias WeightChunk = array<vec4<u32>, 4>;

fn weight_chunk(e: u32) -> WeightChunk {
  let at = e / 8u;
  return WeightChunk(w[at], w[at + 1u], w[at + 2u], w[at + 3u]);
}

fn chunk_vec4(c: WeightChunk, i: u32) -> vec4<f32> { return bf16_vec4(c[i / 2u], i); }
