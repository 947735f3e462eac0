// Plain-TypeScript reference for greedy decoding: per row, the first index of the largest logit.
export function argmaxRef(logits: Float32Array, rows: number, vocab: number): Uint32Array {
  const out = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let i = 1; i < vocab; i++) if (logits[r * vocab + i] > logits[r * vocab + best]) best = i;
    out[r] = best;
  }
  return out;
}
