enable subgroups;

// matvec's reduction on subgroup operations: the function of shaders/matvec_reduce.wgsl with one
// barrier instead of a tree. Each subgroup adds up each of the SUMS partial sums in registers and posts
// the results to a slot claimed with an atomic counter; invocation v then adds up the posted slots of
// sum v. Which invocations share a subgroup, and how many, does not matter (WGSL ties subgroups to no
// local_invocation_index order; WebGPU's sizes go from 4 to 128; a subgroup may be partial).

const MAX_SUBGROUPS = THREADS; // a slot per invocation, even if every subgroup had one
var<workgroup> slots_used: atomic<u32>;
var<workgroup> subgroup_sums: array<f32, SUMS * MAX_SUBGROUPS>; // [sum][slot]

// In invocation v < SUMS: the workgroup's total of acc[v]. Every invocation calls it, once.
fn matvec_total(thread: u32) -> f32 {
  let elected = subgroupElect();
  var slot = 0u;
  if (elected) { slot = atomicAdd(&slots_used, 1u); }
  for (var v = 0u; v < SUMS; v++) {
    let sum = subgroupAdd(acc[v]);
    if (elected) { subgroup_sums[v * MAX_SUBGROUPS + slot] = sum; }
  }
  let posted = workgroupUniformLoad(&slots_used);
  let v = min(thread, SUMS - 1u);
  var total = 0.0;
  for (var i = 0u; i < posted; i++) { total += subgroup_sums[v * MAX_SUBGROUPS + i]; }
  return total;
}
