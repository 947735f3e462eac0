// Sampling, candidate selection pass (one workgroup): totals the workgroups' histograms of the digit
// (p.word, p.shift) and narrows the group to the highest digit at which the wanted count is reached.

//#include sample_common

@group(0) @binding(1) var<storage, read> histograms: array<u32>;
@group(0) @binding(2) var<storage, read_write> state: SampleState;

var<workgroup> totals: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) thread: u32) {
  var total = 0u;
  for (var g = 0u; g < p.groups; g++) { total += histograms[g * 256u + thread]; }
  totals[thread] = total;
  workgroupBarrier();
  if (thread != 0u) { return; }
  var s = state.selection;
  if (s.resolved == 1u) { return; }
  // Walk the digits from the top: every key of a higher digit is wanted; the digit where the count
  // reaches `remaining` becomes the group.
  var above = 0u;
  var digit = 255u;
  loop {
    if (above + totals[digit] >= s.remaining || digit == 0u) { break; }
    above += totals[digit];
    digit -= 1u;
  }
  s.remaining -= above;
  let bits = 255u << p.shift;
  if (p.word == 0u) {
    s.prefix_score |= digit << p.shift;
    s.mask_score |= bits;
  } else {
    s.prefix_id |= digit << p.shift;
    s.mask_id |= bits;
  }
  s.resolved = select(0u, 1u, totals[digit] == s.remaining);
  state.selection = s;
}
