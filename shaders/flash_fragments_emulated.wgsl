// flash_fragments.wgsl's declarations in plain WGSL, for checking flash_tile_tensor_cores.wgsl's logic
// (staging, masking, online softmax, rescaling, GQA rows, write-out) on adapters without subgroup
// matrices, CI's included. Slow: for tests only.
//
// A left or right fragment is a reference to its 16×16 of a staged array (the tile multiplies what it
// loads before the array changes); a result fragment is data, 8 elements per invocation of the
// subgroup as the tile's invocations hold rows (row = lane / 2, columns (lane % 2)·8 + 0…7). A product
// reads the operands where they are staged. Staged values are f32 rounded through f16
// (pack2x16float), so that no shader-f16 is needed.

alias Staged = f32;
struct StagedFragment {
  array_id: u32, // Q, K (column-major: Kᵀ), P or V (column-major from Vᵀ)
  offset: u32,
}
struct ResultFragment { e: array<f32, 8> }
alias Left = StagedFragment;
alias Right = StagedFragment;
alias Result = ResultFragment;

const Q_ARRAY = 0u;
const K_ARRAY = 1u;
const P_ARRAY = 2u;
const V_ARRAY = 3u;

// x rounded to f16 and back. The f16 bits are decoded by hand: lavapipe folds
// unpack2x16float(pack2x16float(x)) into x, so that round trip rounded nothing there (0.1 stayed 0.1,
// though its packed bits are f16's 0.0999755859375).
fn to_staged(x: f32) -> Staged {
  let h = pack2x16float(vec2f(x, 0.0)) & 0xffffu;
  let sign = select(1.0, -1.0, (h & 0x8000u) != 0u);
  let exponent = (h >> 10u) & 0x1fu;
  let mantissa = f32(h & 0x3ffu);
  if (exponent == 0u) { return sign * mantissa * exp2(-24.0); } // zero and subnormals
  return sign * (1.0 + mantissa / 1024.0) * exp2(f32(exponent) - 15.0); // staged values are finite
}

// Sized by the tile's overrides: plain arrays may be.
override VT_STRIDE: u32 = KEYS + PAD;
var<workgroup> q_tile: array<f32, ROWS * STRIDE>;
var<workgroup> k_tile: array<f32, KEYS * STRIDE>;
var<workgroup> vt_tile: array<f32, HEAD_DIM * VT_STRIDE>;
var<workgroup> s_tile: array<f32, ROWS * SCRATCH>;
var<workgroup> p_tile: array<f32, ROWS * P_STRIDE>;

fn frag_q(offset: u32) -> Left { return StagedFragment(Q_ARRAY, offset); }
fn frag_k(offset: u32) -> Right { return StagedFragment(K_ARRAY, offset); }
fn frag_p(offset: u32) -> Left { return StagedFragment(P_ARRAY, offset); }
fn frag_v(offset: u32) -> Right { return StagedFragment(V_ARRAY, offset); }

// Element (r, c) of a staged fragment.
fn frag_element(m: StagedFragment, r: u32, c: u32) -> f32 {
  switch (m.array_id) {
    case Q_ARRAY: { return q_tile[m.offset + r * STRIDE + c]; }
    case K_ARRAY: { return k_tile[m.offset + c * STRIDE + r]; }
    case P_ARRAY: { return p_tile[m.offset + r * P_STRIDE + c]; }
    default: { return vt_tile[m.offset + c * VT_STRIDE + r]; }
  }
}

// This invocation's row of a fragment, and its first column.
fn frag_row() -> u32 { return (thread % SUBGROUP) / 2u; }
fn frag_column() -> u32 { return (thread % 2u) * 8u; }

fn frag_store_scratch(offset: u32, m: Result) {
  for (var j = 0u; j < 8u; j++) { s_tile[offset + frag_row() * SCRATCH + frag_column() + j] = m.e[j]; }
}
fn frag_mma(a: Left, b: Right, c: Result) -> Result {
  var m = c;
  for (var j = 0u; j < 8u; j++) {
    var s = 0.0;
    for (var k = 0u; k < 16u; k++) { s += frag_element(a, frag_row(), k) * frag_element(b, k, frag_column() + j); }
    m.e[j] += s;
  }
  return m;
}
