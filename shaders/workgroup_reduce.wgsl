// Reductions over a whole workgroup through workgroup memory and barriers: the path for every device.
// shaders/subgroup_reduce.wgsl has the same functions on subgroup operations; kernel wrappers swap it in
// when the device has subgroups (reduceIncludes in src/gpu/kernels/reduce.ts). Every invocation of the
// workgroup calls them, in uniform control flow, with `size` (a power of two, at most 256) the
// workgroup size and `thread` its local_invocation_index; a workgroup calls one of them once (the
// subgroup twin does not reset its slot counter).

const REDUCE_MAX_THREADS = 256u;
var<workgroup> reduce_values: array<f32, REDUCE_MAX_THREADS>;
var<workgroup> reduce_indices: array<u32, REDUCE_MAX_THREADS>;

// Sum of `value` over the workgroup.
fn workgroup_sum(thread: u32, value: f32, size: u32) -> f32 {
  reduce_values[thread] = value;
  workgroupBarrier();
  for (var stride = size / 2u; stride > 0u; stride /= 2u) {
    if (thread < stride) { reduce_values[thread] += reduce_values[thread + stride]; }
    workgroupBarrier();
  }
  return reduce_values[0];
}

// Whether candidate (v, i) beats (best_v, best_i): larger value, or equal value at a lower index.
fn beats(v: f32, i: u32, best_v: f32, best_i: u32) -> bool {
  return v > best_v || (v == best_v && i < best_i);
}

// The index of the largest `value` over the workgroup, the lowest such `index` on ties.
fn workgroup_argmax(thread: u32, value: f32, index: u32, size: u32) -> u32 {
  reduce_values[thread] = value;
  reduce_indices[thread] = index;
  workgroupBarrier();
  for (var stride = size / 2u; stride > 0u; stride /= 2u) {
    if (thread < stride) {
      let v = reduce_values[thread + stride];
      let i = reduce_indices[thread + stride];
      if (beats(v, i, reduce_values[thread], reduce_indices[thread])) {
        reduce_values[thread] = v;
        reduce_indices[thread] = i;
      }
    }
    workgroupBarrier();
  }
  return reduce_indices[0];
}
