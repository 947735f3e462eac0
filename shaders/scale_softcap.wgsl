// In-place maps over x[count]:
//   scale    x = x · s            (Gemma's embeddings × √hidden)
//   softcap  x = s · tanh(x / s)  (Gemma 2's final logits, capped to (−s, s))

//#include grid
//#include tanh

//#struct Params

// Invocations per workgroup: set by the kernel's TypeScript, which counts the workgroups with it.
override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

fn element(group: vec3u, groups: vec3u, thread: u32) -> u32 {
  return flat_workgroup(group, groups) * WORKGROUP_SIZE + thread;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn scale(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let i = element(group, groups, thread);
  if (i < p.count) { x[i] = x[i] * p.s; }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn softcap(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let i = element(group, groups, thread);
  if (i < p.count) { x[i] = p.s * stable_tanh(x[i] / p.s); }
}
