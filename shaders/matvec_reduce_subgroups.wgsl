enable subgroups;

// matvec's reduction on subgroup operations: the function of shaders/matvec_reduce.wgsl with one
// barrier instead of a tree. Each subgroup adds up each of the SUMS partial sums in registers and posts
// the results at the slot of its lowest invocation (the other slots keep workgroup memory's initial
// zero); invocation v then adds up the slots of sum v in slot order. Slots claimed in arrival order
// would make the order of that sum, and its rounding, change from run to run on a real GPU.
//
// WGSL ties subgroups to no local_invocation_index order, but GPUs form them from consecutive
// invocations: when every subgroup holds `size` consecutive invocations starting at a multiple of
// `size` (one size for the workgroup), only every size-th slot can be non-zero and the final sum reads
// those (THREADS / 32 slots on NVIDIA instead of THREADS). Otherwise it reads every slot. Both read
// the same non-zero values in the same order, so they give the same bits. EVERY_SLOT takes the second
// way always (tests: no adapter at hand forms subgroups otherwise).

var<workgroup> subgroup_sums: array<f32, SUMS * THREADS>; // [sum][slot]
// Bit 0: some subgroup is not consecutive and aligned; above it, the OR of the subgroup sizes (shifted by 1).
var<workgroup> subgroup_layout: atomic<u32>;

override EVERY_SLOT: bool = false;

// In invocation v < SUMS: the workgroup's total of acc[v]. Every invocation calls it, once.
fn matvec_total(thread: u32) -> f32 {
  let first = subgroupMin(thread);
  let size = subgroupAdd(1u);
  let consecutive = subgroupMax(thread) - first + 1u == size && first % size == 0u;
  for (var v = 0u; v < SUMS; v++) {
    let sum = subgroupAdd(acc[v]);
    if (thread == first) { subgroup_sums[v * THREADS + first] = sum; }
  }
  if (thread == first) { atomicOr(&subgroup_layout, select(1u, 0u, consecutive) | (size << 1u)); }
  workgroupBarrier();
  let stride = select(1u, size, atomicLoad(&subgroup_layout) == size << 1u && !EVERY_SLOT);
  let v = min(thread, SUMS - 1u);
  var total = 0.0;
  for (var i = 0u; i < THREADS; i += stride) { total += subgroup_sums[v * THREADS + i]; }
  return total;
}
