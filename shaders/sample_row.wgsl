// The logits row and the seen-id bitset, for the sample_* kernels that scan the vocabulary.

//#include sample_common

@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> seen: array<u32>;

fn sample_logit(i: u32) -> f32 {
  return logits[p.offset + i];
}

fn sample_is_seen(i: u32) -> bool {
  return ((seen[i >> 5u] >> (i & 31u)) & 1u) != 0u;
}

fn sample_score(i: u32) -> f32 {
  return sample_penalised(sample_logit(i), sample_is_seen(i));
}

// The first and one-past-last element of workgroup `group`'s span.
fn sample_span(group: u32) -> vec2u {
  let start = group * SAMPLE_SPAN;
  return vec2u(start, min(start + SAMPLE_SPAN, p.vocab));
}

// Whether id i's composite key (score key, id key) lies in the candidate selection's current group.
fn sample_in_group(score_key: u32, i: u32, s: SampleSelection) -> bool {
  return (score_key & s.mask_score) == s.prefix_score && (sample_id_key(i) & s.mask_id) == s.prefix_id;
}

// Whether id i's composite key is at or above the group: once resolved, exactly the candidates.
fn sample_at_or_above_group(score_key: u32, i: u32, s: SampleSelection) -> bool {
  let high = score_key & s.mask_score;
  if (high != s.prefix_score) { return high > s.prefix_score; }
  return (sample_id_key(i) & s.mask_id) >= s.prefix_id;
}

// The digit histogram of a workgroup (sample_scan's first pass, sample_histogram's others). Runs of one
// digit are counted privately and added once: in the first passes most ids share a digit (the score
// key's top bits), and one atomic per id on a few bins would serialise them.
var<workgroup> digit_counts: array<atomic<u32>, 256>;

struct DigitRun {
  digit: u32,
  length: u32,
}

fn sample_count_digit(run: ptr<function, DigitRun>, digit: u32) {
  if (digit != (*run).digit && (*run).length > 0u) {
    atomicAdd(&digit_counts[(*run).digit], (*run).length);
    (*run).length = 0u;
  }
  (*run).digit = digit;
  (*run).length += 1u;
}

fn sample_flush_digits(run: DigitRun) {
  if (run.length > 0u) { atomicAdd(&digit_counts[run.digit], run.length); }
}
