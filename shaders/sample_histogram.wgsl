// Sampling, candidate selection pass (every workgroup): the histogram of the next 8-bit digit
// (p.word, p.shift) of the composite keys in the current group, one row of 256 counts per workgroup
// (no atomics across workgroups, nothing to clear). Does nothing once the selection is resolved.

//#include sample_row

@group(0) @binding(3) var<storage, read_write> state: SampleState;
@group(0) @binding(4) var<storage, read_write> histograms: array<u32>;

var<workgroup> counts: array<atomic<u32>, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) thread: u32) {
  let selection = state.selection;
  atomicStore(&counts[thread], 0u);
  workgroupBarrier();
  let span = sample_span(group.x);
  // Once resolved the loop is skipped (the barriers stay in uniform control flow) and sample_select ignores the zeros.
  let end = select(span.y, span.x, selection.resolved == 1u);
  // Runs of one digit are counted privately and added once: in the first passes most ids share a
  // digit (the score key's top bits), and one atomic per id on a few bins would serialise them.
  var run_digit = 0u;
  var run_length = 0u;
  for (var i = span.x + thread; i < end; i += SAMPLE_THREADS) {
    let score_key = sample_score_key(sample_score(i));
    if (!sample_in_group(score_key, i, selection)) { continue; }
    let key = select(score_key, sample_id_key(i), p.word == 1u);
    let digit = (key >> p.shift) & 255u;
    if (digit != run_digit && run_length > 0u) {
      atomicAdd(&counts[run_digit], run_length);
      run_length = 0u;
    }
    run_digit = digit;
    run_length++;
  }
  if (run_length > 0u) { atomicAdd(&counts[run_digit], run_length); }
  workgroupBarrier();
  histograms[group.x * 256u + thread] = atomicLoad(&counts[thread]);
}
