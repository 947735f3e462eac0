// Weight reads for f16 weights stored as on disk, two to a u32, widened to f32 in the shader: half the
// memory of f32 and no need for the shader-f16 feature. Same functions as shaders/weight_f32.wgsl.

@group(0) @binding(2) var<storage, read> w: array<vec2<u32>>;

fn weight4(e: u32) -> vec4<f32> {
  let pair = w[e / 4u];
  return vec4<f32>(unpack2x16float(pair.x), unpack2x16float(pair.y));
}

fn weight1(e: u32) -> f32 { return weight4(e & ~3u)[e % 4u]; }
