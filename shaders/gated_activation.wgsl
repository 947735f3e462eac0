// The MLP's gating: out[i] = act(gate[i]) * up[i], with act chosen by ACTIVATION (shaders/activation.wgsl).
// Three entry points: main writes a separate `out`; in_place overwrites `gate` (WebGPU forbids binding
// one buffer as both a read-only and a writable input of the same dispatch); pairs reads the rows of a
// fused gate and up projection, gate [rows, 2·width] holding each row's gate then its up values.

//#include grid
//#include activation

//#struct Params

// Invocations per workgroup: set by the kernel's TypeScript, which counts the workgroups with it.
override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> p: Params;
// main:
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// in_place (binding 2 is `up` again):
@group(0) @binding(1) var<storage, read_write> gate_inout: array<f32>;

fn element(group: vec3u, groups: vec3u, thread: u32) -> u32 {
  return flat_workgroup(group, groups) * WORKGROUP_SIZE + thread;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let i = element(group, groups, thread);
  if (i < p.count) {
    out[i] = activation(gate[i]) * up[i];
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn in_place(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let i = element(group, groups, thread);
  if (i < p.count) {
    gate_inout[i] = activation(gate_inout[i]) * up[i];
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn pairs(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let i = element(group, groups, thread);
  if (i < p.count) {
    let at = i / p.width * 2u * p.width + i % p.width;
    out[i] = activation(gate[at]) * gate[at + p.width];
  }
}
