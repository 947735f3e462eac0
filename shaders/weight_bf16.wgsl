// Weight reads for bf16 weights stored as on disk, two to a u32: a bf16 is the top half of an f32, so
// widening is a shift or a mask, exact. Same functions as shaders/weight_f32.wgsl.

@group(0) @binding(2) var<storage, read> w: array<vec2<u32>>;

fn weight4(e: u32) -> vec4<f32> {
  let pair = w[e / 4u];
  return vec4<f32>(
    bitcast<f32>(pair.x << 16u),
    bitcast<f32>(pair.x & 0xffff0000u),
    bitcast<f32>(pair.y << 16u),
    bitcast<f32>(pair.y & 0xffff0000u),
  );
}

fn weight1(e: u32) -> f32 { return weight4(e & ~3u)[e % 4u]; }
