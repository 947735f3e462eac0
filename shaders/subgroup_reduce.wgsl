enable subgroups;

// The functions of shaders/workgroup_reduce.wgsl (same signatures and results) on subgroup operations:
// each subgroup reduces its values in registers, one invocation per subgroup posts the result to a slot
// in workgroup memory, and after a single barrier every subgroup reduces the posted results.
// Nothing is assumed about the subgroup size (4 to 128, 8 on lavapipe, 4 on SwiftShader, 32 or 64 on
// GPUs) or about which invocations share a subgroup (WGSL ties subgroups to no local_invocation_index
// order; a subgroup may even be partial): sums are posted at the posting invocation's own slot and
// argmax candidates at slots claimed with an atomic counter (a maximum with ties to the lower index
// does not depend on their order), and lanes are numbered among the subgroup's active invocations. Every invocation of the workgroup calls these in
// uniform control flow; a workgroup calls one of them once (the slot counter is not reset).

// Workgroups of up to 256 invocations; a slot per invocation even if every subgroup had one.
const REDUCE_MAX_THREADS = 256u;
var<workgroup> reduce_slots_used: atomic<u32>;
var<workgroup> reduce_values: array<f32, REDUCE_MAX_THREADS>;
var<workgroup> reduce_indices: array<u32, REDUCE_MAX_THREADS>;

// An invocation with no candidate (no element, or a slot past the posted ones) holds this index.
const REDUCE_NO_INDEX = 0xffffffffu;

// Claims a slot for this subgroup; the slot is meaningful only in the invocation that subgroupElect() chose.
fn reduce_claim_slot(elected: bool) -> u32 {
  var slot = 0u;
  if (elected) { slot = atomicAdd(&reduce_slots_used, 1u); }
  return slot;
}

// Each subgroup's sum goes to the slot of the invocation that posts it, not to a slot claimed in
// arrival order: the total is then added up in the same order on every run (subgroups that finish
// first on a real GPU would otherwise change the order, and the rounding, from run to run).
// The other slots hold the zero that workgroup memory starts with.
fn workgroup_sum(thread: u32, value: f32, size: u32) -> f32 {
  let sum = subgroupAdd(value);
  if (subgroupElect()) { reduce_values[thread] = sum; }
  workgroupBarrier();
  let lane = subgroupExclusiveAdd(1u);
  let lanes = subgroupAdd(1u);
  var partial = 0.0;
  for (var i = lane; i < size; i += lanes) { partial += reduce_values[i]; }
  return subgroupAdd(partial);
}

struct ReduceCandidate {
  value: f32,
  index: u32,
}

// Largest value first, then the lowest index among the invocations holding it.
fn subgroup_argmax(value: f32, index: u32) -> ReduceCandidate {
  let best = subgroupMax(value);
  return ReduceCandidate(best, subgroupMin(select(REDUCE_NO_INDEX, index, value == best)));
}

fn workgroup_argmax(_thread: u32, value: f32, index: u32, _size: u32) -> u32 {
  let mine = subgroup_argmax(value, index);
  let elected = subgroupElect();
  let slot = reduce_claim_slot(elected);
  if (elected) {
    reduce_values[slot] = mine.value;
    reduce_indices[slot] = mine.index;
  }
  let posted = workgroupUniformLoad(&reduce_slots_used);
  let lane = subgroupExclusiveAdd(1u);
  let lanes = subgroupAdd(1u);
  // This lane's best of slots lane, lane + lanes, …: larger value, or equal value at a lower index.
  var best_v = -0x1.fffffep+127f; // the lowest finite f32, as for an invocation with no element
  var best_i = REDUCE_NO_INDEX;
  for (var i = lane; i < posted; i += lanes) {
    let v = reduce_values[i];
    let j = reduce_indices[i];
    if (v > best_v || (v == best_v && j < best_i)) {
      best_v = v;
      best_i = j;
    }
  }
  return subgroup_argmax(best_v, best_i).index;
}
