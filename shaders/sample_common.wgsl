// Shared by the sample_* kernels (wrapper: src/gpu/kernels/sampling.ts): their parameters, the state
// they pass each other, the repetition penalty and the order-preserving keys the candidate selection
// compares. Every comparison that decides a token is made on u32 keys, never on float arithmetic.

//#struct SampleParams

// What one step's kernels hand each other (one buffer, rewritten every step by sample_reduce).
struct SampleState {
  status: u32,             // SAMPLE_OK, SAMPLE_NAN or SAMPLE_ALL_NEGATIVE_INFINITY
  nan_index: u32,          // the lowest index of a NaN logit
  best: u32,               // argmax of the penalised scores, the lowest index on ties
  max_score: f32,
  selection: SampleSelection,
  count: atomic<u32>,      // candidates written so far
}

// The candidate selection (a radix select) narrows a group of composite keys (score key, id key)
// 8 bits a pass: the group is the keys whose bits under mask equal prefix, every key above the group is
// a candidate, and `remaining` members of the group are still wanted. Keys are distinct (ids are), so
// the last pass leaves a group of one.
struct SampleSelection {
  prefix_score: u32,
  prefix_id: u32,
  mask_score: u32,
  mask_id: u32,
  remaining: u32,
  resolved: u32,           // 1 once the whole group is wanted: candidates = keys at or above it
}

// One workgroup's best of sample_scan.
struct ScanPartial {
  score: f32,
  index: u32,
  nan_index: u32,
  _pad: u32,
}

// One workgroup's share of sample_gather: the mass and the highest score key of its non-candidates.
struct GatherPartial {
  rest_mass: f32,
  boundary_key: u32,
}

// SAMPLE_OK, SAMPLE_NAN, SAMPLE_ALL_NEGATIVE_INFINITY (status words), READOUT_HEADER (u32 words before
// the candidates' ids, then their logits) and SAMPLE_SPAN (elements per workgroup of the scanning
// kernels) are shared with src/gpu/kernels/sampling.ts, which prepends them.
const SAMPLE_NO_INDEX = 0xffffffffu;
const SAMPLE_THREADS = 256u;
const SAMPLE_LOWEST_FINITE = -0x1.fffffep+127f;
const SAMPLE_NEGATIVE_INFINITY_KEY = 0x007fffffu; // sample_score_key(−∞)

@group(0) @binding(0) var<uniform> p: SampleParams;

fn sample_is_nan(s: f32) -> bool {
  return (bitcast<u32>(s) & 0x7fffffffu) > 0x7f800000u;
}

// The repetition penalty as transformers applies it (negative × penalty, else ÷ penalty), the division
// as a multiplication by f32(1 / penalty): WGSL's f32 division may be off by 2.5 ULP, a product is
// correctly rounded, so this is bit for bit what src/model/sampling.ts computes. Infinities stay.
fn sample_penalised(s: f32, seen: bool) -> f32 {
  let finite = (bitcast<u32>(s) & 0x7f800000u) != 0x7f800000u;
  if (!seen || !finite) { return s; }
  return select(s * p.inverse_penalty, s * p.penalty, s < 0.0);
}

// u32 whose order is the order of the f32 (−∞ lowest, +∞ highest; NaN is reported, never ranked).
fn sample_score_key(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

// The id key ranks lower ids higher, so that among equal scores the lowest id is taken first.
fn sample_id_key(i: u32) -> u32 {
  return ((1u << p.id_bits) - 1u) - i;
}
