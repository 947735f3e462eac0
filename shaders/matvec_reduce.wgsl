// matvec's reduction in workgroup memory (every device): each invocation posts its SUMS partial sums,
// and after one barrier invocation v adds up the THREADS posts of sum v in invocation order (a fixed
// order: the same bits every run). Included by shaders/matvec.wgsl, which declares acc, SUMS and
// THREADS; shaders/matvec_reduce_subgroups.wgsl is the same function on subgroup operations. A tree
// of barriers would add fewer numbers one after another, but GPUs without subgroups are few.

var<workgroup> partial_sums: array<f32, SUMS * THREADS>; // [sum][invocation]

// In invocation v < SUMS: the workgroup's total of acc[v]. Every invocation calls it, once.
fn matvec_total(thread: u32) -> f32 {
  for (var v = 0u; v < SUMS; v++) { partial_sums[v * THREADS + thread] = acc[v]; }
  workgroupBarrier();
  let v = min(thread, SUMS - 1u);
  var total = 0.0;
  for (var i = 0u; i < THREADS; i++) { total += partial_sums[v * THREADS + i]; }
  return total;
}
