// Residual connection: acc[i] += x[i] for i < count.

//#include grid

//#struct Params

// Invocations per workgroup: set by the kernel's TypeScript, which counts the workgroups with it.
override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> acc: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let i = flat_workgroup(group, groups) * WORKGROUP_SIZE + thread;
  if (i < p.count) { acc[i] += x[i]; }
}
