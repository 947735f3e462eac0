enable subgroups;

// matvec's reduction on subgroup operations: the function of shaders/matvec_reduce.wgsl with one
// barrier instead of a tree. Each subgroup adds up each of the SUMS partial sums in registers and posts
// the results at the slot of the invocation that posts them (the others keep workgroup memory's
// initial zero); invocation v then adds up all THREADS slots of sum v in order. Slots claimed in
// arrival order would make the order of that sum, and its rounding, change from run to run on a real
// GPU. Which invocations share a subgroup, and how many, does not matter (WGSL ties subgroups to no
// local_invocation_index order; WebGPU's sizes go from 4 to 128; a subgroup may be partial).

var<workgroup> subgroup_sums: array<f32, SUMS * THREADS>; // [sum][slot]

// In invocation v < SUMS: the workgroup's total of acc[v]. Every invocation calls it, once.
fn matvec_total(thread: u32) -> f32 {
  let elected = subgroupElect();
  for (var v = 0u; v < SUMS; v++) {
    let sum = subgroupAdd(acc[v]);
    if (elected) { subgroup_sums[v * THREADS + thread] = sum; }
  }
  workgroupBarrier();
  let v = min(thread, SUMS - 1u);
  var total = 0.0;
  for (var i = 0u; i < THREADS; i++) { total += subgroup_sums[v * THREADS + i]; }
  return total;
}
