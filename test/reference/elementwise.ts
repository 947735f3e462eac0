// Plain-TypeScript references for the element-wise kernels.

export function addRef(acc: Float32Array, x: Float32Array): Float32Array {
  return acc.map((a, i) => a + x[i]);
}

/** silu(g) · u with silu(g) = g / (1 + e^-g), as torch computes it. */
export function siluMulRef(gate: Float32Array, up: Float32Array): Float32Array {
  return gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]);
}

/** transformers' gelu_pytorch_tanh(g) · u. */
export function geluTanhMulRef(gate: Float32Array, up: Float32Array): Float32Array {
  return gate.map((g, i) => 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g ** 3))) * up[i]);
}

/** cap · tanh(x / cap). */
export function softcapRef(x: Float32Array, cap: number): Float32Array {
  return x.map((v) => cap * Math.tanh(v / cap));
}
