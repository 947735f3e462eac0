// Weight reads for f16 weights stored as on disk, two to a u32, widened to f32 in the shader: half the
// memory of f32 and no need for the shader-f16 feature. Same functions as shaders/weight_f32.wgsl.
// Binding 2 is read 16 bytes (eight elements) at a time, a whole word for a chunk's loads.

@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;

/** Elements 4j..4j+3 of the eight in `words`. */
fn f16_vec4(words: vec4<u32>, j: u32) -> vec4<f32> {
  let pair = select(words.xy, words.zw, j % 2u == 1u);
  return vec4<f32>(unpack2x16float(pair.x), unpack2x16float(pair.y));
}

fn weight4(e: u32) -> vec4<f32> { return f16_vec4(w[e / 8u], e / 4u); }

fn weight1(e: u32) -> f32 { return unpack2x16float(w[e / 8u][(e / 2u) % 4u])[e % 2u]; }

alias WeightChunk = array<vec4<u32>, 4>;

fn weight_chunk(e: u32) -> WeightChunk {
  let at = e / 8u;
  return WeightChunk(w[at], w[at + 1u], w[at + 2u], w[at + 3u]);
}

fn chunk_vec4(c: WeightChunk, i: u32) -> vec4<f32> { return f16_vec4(c[i / 2u], i); }
