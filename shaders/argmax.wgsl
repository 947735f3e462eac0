// Greedy decoding: out[row] = index of the largest logits[row, :], the lowest such index on ties
// (as torch.argmax on the CPU). One workgroup per row: each invocation scans a strided slice in
// increasing index order, then a workgroup reduction (shaders/workgroup_reduce.wgsl or its subgroup
// twin) picks the winner.

//#include grid
//#include workgroup_reduce

//#struct Params

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

const THREADS = 256u;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let row = flat_workgroup(group, groups);
  if (row >= p.rows) { return; }
  let base = row * p.vocab;
  // An invocation with no element keeps index 0xffffffff: it loses every tie.
  var best_v = -0x1.fffffep+127f; // the lowest finite f32
  var best_i = 0xffffffffu;
  for (var i = thread; i < p.vocab; i += THREADS) {
    let v = logits[base + i];
    if (v > best_v || best_i == 0xffffffffu) {
      best_v = v;
      best_i = i;
    }
  }
  let best = workgroup_argmax(thread, best_v, best_i, THREADS);
  if (thread == 0u) { out[row] = best; }
}
