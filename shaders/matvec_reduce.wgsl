// matvec's reduction in workgroup memory (every device): the SUMS partial sums of each invocation in
// `acc` are added up over the workgroup by a tree. Included by shaders/matvec.wgsl, which declares acc,
// SUMS and THREADS; shaders/matvec_reduce_subgroups.wgsl is the same function on subgroup operations.

var<workgroup> partial_sums: array<f32, SUMS * THREADS>; // [sum][invocation]

// In invocation v < SUMS: the workgroup's total of acc[v]. Every invocation calls it.
fn matvec_total(thread: u32) -> f32 {
  for (var v = 0u; v < SUMS; v++) { partial_sums[v * THREADS + thread] = acc[v]; }
  workgroupBarrier();
  for (var stride = THREADS / 2u; stride > 0u; stride /= 2u) {
    if (thread < stride) {
      for (var v = 0u; v < SUMS; v++) { partial_sums[v * THREADS + thread] += partial_sums[v * THREADS + thread + stride]; }
    }
    workgroupBarrier();
  }
  return partial_sums[min(thread, SUMS - 1u) * THREADS];
}
