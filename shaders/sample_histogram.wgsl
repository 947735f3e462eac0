// Sampling, candidate selection pass (every workgroup): the histogram of the next 8-bit digit
// (p.word, p.shift) of the composite keys in the current group, one row of 256 counts per workgroup
// (no atomics across workgroups, nothing to clear). Does nothing once the selection is resolved. The
// first pass (the score key's top digit, every id in the group) is sample_scan's.

//#include sample_row

@group(0) @binding(3) var<storage, read_write> state: SampleState;
@group(0) @binding(4) var<storage, read_write> histograms: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) thread: u32) {
  let selection = state.selection;
  atomicStore(&digit_counts[thread], 0u);
  workgroupBarrier();
  let span = sample_span(group.x);
  // Once resolved the loop is skipped (the barriers stay in uniform control flow) and sample_select ignores the zeros.
  let end = select(span.y, span.x, selection.resolved == 1u);
  var run = DigitRun(0u, 0u);
  for (var i = span.x + thread; i < end; i += SAMPLE_THREADS) {
    let score_key = sample_score_key(sample_score(i));
    if (!sample_in_group(score_key, i, selection)) { continue; }
    let key = select(score_key, sample_id_key(i), p.word == 1u);
    sample_count_digit(&run, (key >> p.shift) & 255u);
  }
  sample_flush_digits(run);
  workgroupBarrier();
  histograms[group.x * 256u + thread] = atomicLoad(&digit_counts[thread]);
}
