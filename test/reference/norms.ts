// Plain-TypeScript references for RMSNorm (float64 arithmetic on the f32 inputs).

/**
 * y[r, :] = x[r, :] / sqrt(mean(x[r, :]²) + eps) · (offset + weight), for rows of weight.length
 * elements; offset 1 is Gemma's (1 + w), whose sum torch rounds to f32.
 */
export function rmsNormRef(x: Float32Array, weight: Float32Array, rows: number, eps: number, offset = 0): Float32Array {
  const dim = weight.length;
  const y = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let squares = 0;
    for (let i = 0; i < dim; i++) squares += x[r * dim + i] ** 2;
    const scale = 1 / Math.sqrt(squares / dim + eps);
    for (let i = 0; i < dim; i++) y[r * dim + i] = Math.fround(offset + weight[i]) * x[r * dim + i] * scale;
  }
  return y;
}

/** Each head's vector of x[rows, heads, headDim] normalized with weight[headDim]. */
export function headRmsNormRef(x: Float32Array, weight: Float32Array, rows: number, heads: number, eps: number, offset = 0): Float32Array {
  return rmsNormRef(x, weight, rows * heads, eps, offset);
}
