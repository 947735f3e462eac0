// Sampling, step 1 of every mode: each workgroup scans SAMPLE_SPAN logits, applies the repetition
// penalty and posts its best (score, lowest index) and its lowest NaN index; sample_reduce merges them.
// When sampling, also the histogram of the candidate selection's first digit (see sample_histogram).

//#include sample_row
//#include workgroup_reduce

@group(0) @binding(3) var<storage, read_write> partials: array<ScanPartial>;
@group(0) @binding(4) var<storage, read_write> histograms: array<u32>;

var<workgroup> first_nan: atomic<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) thread: u32) {
  if (thread == 0u) { atomicStore(&first_nan, SAMPLE_NO_INDEX); }
  atomicStore(&digit_counts[thread], 0u);
  workgroupBarrier();
  // Sampling (not greedy) also counts the first digit of the candidate selection, the score key's top
  // 8 bits (p.shift = 24), for every id: the whole vocabulary is the first group.
  let count_digits = p.mark == 0u;
  var run = DigitRun(0u, 0u);
  let span = sample_span(group.x);
  // An invocation with no element keeps index SAMPLE_NO_INDEX: it loses every tie (see argmax.wgsl).
  var best_score = SAMPLE_LOWEST_FINITE;
  var best_index = SAMPLE_NO_INDEX;
  for (var i = span.x + thread; i < span.y; i += SAMPLE_THREADS) {
    let logit = sample_logit(i);
    if (sample_is_nan(logit)) { atomicMin(&first_nan, i); }
    let score = sample_penalised(logit, sample_is_seen(i));
    if (count_digits) { sample_count_digit(&run, sample_score_key(score) >> p.shift); }
    if (score > best_score || best_index == SAMPLE_NO_INDEX) {
      best_score = score;
      best_index = i;
    }
  }
  sample_flush_digits(run);
  let best = workgroup_argmax(thread, best_score, best_index, SAMPLE_THREADS);
  if (count_digits) { histograms[group.x * 256u + thread] = atomicLoad(&digit_counts[thread]); }
  if (best != SAMPLE_NO_INDEX && best_index == best) { partials[group.x].score = best_score; }
  if (thread == 0u) {
    partials[group.x].index = best;
    partials[group.x].nan_index = atomicLoad(&first_nan);
    if (best == SAMPLE_NO_INDEX) { partials[group.x].score = SAMPLE_LOWEST_FINITE; }
  }
}
