// Expands a weight matrix stored in any format to f32, four elements per invocation, through the same
// weight4/weight1 every weight-reading kernel uses (the pipeline swaps the include for the format's):
// the check of each format's shader code against its TypeScript reference, and f32 tiles for kernels
// that want them. count is a multiple of 4 (rows of a multiple of 4 elements).
//#include grid
//#include weight_f32

//#struct Params

// Invocations per workgroup: set by the kernel's TypeScript, which counts the workgroups with it.
override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lane: u32) {
  let i = flat_workgroup(group, groups) * WORKGROUP_SIZE + lane;
  if (i * 4u >= p.count) {
    return;
  }
  let e = i * 4u;
  if (p.single == 1u) {
    out[i] = vec4<f32>(weight1(e), weight1(e + 1u), weight1(e + 2u), weight1(e + 3u));
  } else {
    out[i] = weight4(e);
  }
}
