// Sampling, after the selection (every workgroup): writes the C candidates (id and raw logit, in no
// particular order) after the readout header, and posts, over the other ids, the highest score key
// (the bound a candidate must beat) and the softmax mass Σ exp((score − max) / temperature).

//#include sample_row
//#include workgroup_reduce

@group(0) @binding(3) var<storage, read_write> state: SampleState;
@group(0) @binding(4) var<storage, read_write> readout: array<u32>;
@group(0) @binding(5) var<storage, read_write> partials: array<GatherPartial>;

var<workgroup> boundary: atomic<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) thread: u32) {
  if (thread == 0u) { atomicStore(&boundary, 0u); }
  workgroupBarrier();
  let selection = state.selection;
  let max_score = state.max_score;
  let span = sample_span(group.x);
  var rest = 0.0;
  var best_other = 0u; // score key 0 is no score (it would be a NaN)
  for (var i = span.x + thread; i < span.y; i += SAMPLE_THREADS) {
    let logit = sample_logit(i);
    let score = sample_penalised(logit, sample_is_seen(i));
    let score_key = sample_score_key(score);
    if (sample_at_or_above_group(score_key, i, selection)) {
      let slot = atomicAdd(&state.count, 1u);
      if (slot < p.candidates) {
        readout[READOUT_HEADER + slot] = i;
        readout[READOUT_HEADER + p.candidates + slot] = bitcast<u32>(logit);
      }
    } else {
      best_other = max(best_other, score_key);
      // −∞ (and anything exp flushes to 0) weighs nothing; testing the key avoids arithmetic on infinities.
      let x = (score - max_score) * p.inverse_temperature;
      if (score_key > SAMPLE_NEGATIVE_INFINITY_KEY && x > -87.0) { rest += exp(x); }
    }
  }
  atomicMax(&boundary, best_other);
  let mass = workgroup_sum(thread, rest, SAMPLE_THREADS);
  if (thread == 0u) { partials[group.x] = GatherPartial(mass, atomicLoad(&boundary)); }
}
