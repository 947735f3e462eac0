// Plain-TypeScript references for the element-wise kernels.

export function addRef(acc: Float32Array, x: Float32Array): Float32Array {
  return acc.map((a, i) => a + x[i]);
}

/** silu(g) · u with silu(g) = g / (1 + e^-g), as torch computes it. */
export function siluMulRef(gate: Float32Array, up: Float32Array): Float32Array {
  return gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]);
}
