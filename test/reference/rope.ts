// Plain-TypeScript reference for rotary position embedding, Hugging Face's rotate_half layout.
// The angle is the f32 product f32(position) · invFreq[j], as torch computes it; its cos and sin are
// then taken in float64, so the reference has no range-reduction error of its own.

export function ropeRef(
  x: Float32Array,
  positions: Uint32Array,
  invFreq: Float32Array,
  rows: number,
  heads: number,
  headDim: number,
  attentionScaling: number,
): Float32Array {
  const half = invFreq.length;
  const y = Float32Array.from(x);
  for (let row = 0; row < rows; row++) {
    for (let j = 0; j < half; j++) {
      const angle = Math.fround(positions[row] * invFreq[j]);
      const cos = Math.cos(angle) * attentionScaling;
      const sin = Math.sin(angle) * attentionScaling;
      for (let h = 0; h < heads; h++) {
        const i = (row * heads + h) * headDim + j;
        const x1 = x[i];
        const x2 = x[i + half];
        y[i] = x1 * cos - x2 * sin;
        y[i + half] = x2 * cos + x1 * sin;
      }
    }
  }
  return y;
}
