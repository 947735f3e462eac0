// Token embedding lookup: out[row, :] = table[ids[row], :] as f32.
// The table [vocab, hidden] may be split into row ranges (one storage binding each, see LinearWeight):
// one dispatch per range copies the rows whose id falls in it; the last range's dispatch also writes
// zeros for ids ≥ vocab, so a bad id never reads out of bounds. The table is read through the weight format's include.

//#include grid
//#include weight_f32

//#struct Params

// Invocations per workgroup: set by the kernel's TypeScript, which counts the workgroups with it.
override WORKGROUP_SIZE: u32;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let e = flat_workgroup(group, groups) * WORKGROUP_SIZE + thread;
  if (e >= p.rows * p.hidden) { return; }
  let id = ids[e / p.hidden];
  if (id < p.first_id) { return; }
  let local_id = id - p.first_id;
  if (local_id < p.range_rows) {
    out[e] = weight1(local_id * p.hidden + e % p.hidden);
  } else if (p.is_last_range != 0u) {
    out[e] = 0.0;
  }
}
