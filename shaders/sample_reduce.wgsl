// Sampling, step 2 of every mode (one workgroup): merges the scan's partials into the argmax, the
// maximum score and the status, and starts the candidate selection. Greedy (p.mark = 1): the argmax is
// the token; it marks itself in the seen bitset (the repetition penalty of the next step), goes to the
// token buffer the next forward pass embeds, and with the status to this step's result slot.

//#include sample_common
//#include workgroup_reduce

@group(0) @binding(1) var<storage, read> partials: array<ScanPartial>;
@group(0) @binding(2) var<storage, read_write> seen: array<u32>;
@group(0) @binding(3) var<storage, read_write> state: SampleState;
@group(0) @binding(4) var<storage, read_write> results: array<u32>;
@group(0) @binding(5) var<storage, read_write> token: array<u32>;

var<workgroup> first_nan: atomic<u32>;
var<workgroup> best_score_shared: f32;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) thread: u32) {
  if (thread == 0u) { atomicStore(&first_nan, SAMPLE_NO_INDEX); }
  workgroupBarrier();
  var best_score = SAMPLE_LOWEST_FINITE;
  var best_index = SAMPLE_NO_INDEX;
  for (var g = thread; g < p.groups; g += SAMPLE_THREADS) {
    let partial = partials[g];
    atomicMin(&first_nan, partial.nan_index);
    let higher = partial.score > best_score || (partial.score == best_score && partial.index < best_index);
    if (higher) {
      best_score = partial.score;
      best_index = partial.index;
    }
  }
  let best = workgroup_argmax(thread, best_score, best_index, SAMPLE_THREADS);
  if (best != SAMPLE_NO_INDEX && best_index == best) { best_score_shared = best_score; }
  workgroupBarrier();
  if (thread != 0u) { return; }
  let nan_index = atomicLoad(&first_nan);
  let max_score = best_score_shared;
  var status = SAMPLE_OK;
  if (nan_index != SAMPLE_NO_INDEX) {
    status = SAMPLE_NAN;
  } else if (best == SAMPLE_NO_INDEX || sample_score_key(max_score) <= SAMPLE_NEGATIVE_INFINITY_KEY) {
    status = SAMPLE_ALL_NEGATIVE_INFINITY;
  }
  state.status = status;
  state.nan_index = nan_index;
  state.best = best;
  state.max_score = max_score;
  // The whole vocabulary is the first group; with no more ids than candidates, every id is one.
  state.selection = SampleSelection(0u, 0u, 0u, 0u, p.candidates, select(0u, 1u, p.vocab <= p.candidates));
  atomicStore(&state.count, 0u);
  if (p.mark == 1u) {
    let ok = status == SAMPLE_OK;
    token[0] = select(SAMPLE_NO_INDEX, best, ok);
    if (ok) { seen[best >> 5u] |= 1u << (best & 31u); }
    results[p.slot * 2u] = status;
    results[p.slot * 2u + 1u] = select(best, nan_index, status == SAMPLE_NAN);
  }
}
