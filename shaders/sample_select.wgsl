// Sampling, candidate selection pass (one workgroup): totals the workgroups' histograms of the digit
// (p.word, p.shift) and narrows the group to the highest digit at which the wanted count is reached.
// One invocation per digit: suffix sums over the digits by a parallel scan, then the one digit whose
// suffix reaches `remaining` while the next digit's does not updates the selection.

//#include sample_common

@group(0) @binding(1) var<storage, read> histograms: array<u32>;
@group(0) @binding(2) var<storage, read_write> state: SampleState;

var<workgroup> suffix: array<u32, 256>;
var<workgroup> resolved: u32;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) digit: u32) {
  if (digit == 0u) { resolved = state.selection.resolved; }
  if (workgroupUniformLoad(&resolved) == 1u) { return; }
  // Read before the barriers below: the one invocation that updates the selection writes after them.
  var s = state.selection;
  var total = 0u;
  for (var g = 0u; g < p.groups; g++) { total += histograms[g * 256u + digit]; }
  suffix[digit] = total;
  workgroupBarrier();
  for (var offset = 1u; offset < 256u; offset *= 2u) {
    let higher = select(0u, suffix[min(digit + offset, 255u)], digit + offset < 256u);
    workgroupBarrier();
    suffix[digit] += higher;
    workgroupBarrier();
  }
  let here = suffix[digit];
  let above = select(suffix[min(digit + 1u, 255u)], 0u, digit == 255u); // keys of higher digits, all wanted
  if (here < s.remaining || above >= s.remaining) { return; }
  s.remaining -= above;
  let bits = 255u << p.shift;
  if (p.word == 0u) {
    s.prefix_score |= digit << p.shift;
    s.mask_score |= bits;
  } else {
    s.prefix_id |= digit << p.shift;
    s.mask_id |= bits;
  }
  s.resolved = select(0u, 1u, here - above == s.remaining);
  state.selection = s;
}
