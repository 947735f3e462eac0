// Sampling, step 1 of every mode: each workgroup scans SAMPLE_SPAN logits, applies the repetition
// penalty and posts its best (score, lowest index) and its lowest NaN index; sample_reduce merges them.

//#include sample_row
//#include workgroup_reduce

@group(0) @binding(3) var<storage, read_write> partials: array<ScanPartial>;

var<workgroup> first_nan: atomic<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) thread: u32) {
  if (thread == 0u) { atomicStore(&first_nan, SAMPLE_NO_INDEX); }
  workgroupBarrier();
  let span = sample_span(group.x);
  // An invocation with no element keeps index SAMPLE_NO_INDEX: it loses every tie (see argmax.wgsl).
  var best_score = SAMPLE_LOWEST_FINITE;
  var best_index = SAMPLE_NO_INDEX;
  for (var i = span.x + thread; i < span.y; i += SAMPLE_THREADS) {
    let logit = sample_logit(i);
    if (sample_is_nan(logit)) { atomicMin(&first_nan, i); }
    let score = sample_penalised(logit, sample_is_seen(i));
    if (score > best_score || best_index == SAMPLE_NO_INDEX) {
      best_score = score;
      best_index = i;
    }
  }
  let best = workgroup_argmax(thread, best_score, best_index, SAMPLE_THREADS);
  if (best != SAMPLE_NO_INDEX && best_index == best) { partials[group.x].score = best_score; }
  if (thread == 0u) {
    partials[group.x].index = best;
    partials[group.x].nan_index = atomicLoad(&first_nan);
    if (best == SAMPLE_NO_INDEX) { partials[group.x].score = SAMPLE_LOWEST_FINITE; }
  }
}
