// Plain-TypeScript reference for citations: the softmax attention weights of each (row, head), summed
// per grid cell of the keys (attention_citations.wgsl gives their mean over heads).
import type { RefShape, Visibility } from './attention.ts';

/** Shares [rows, heads, cells]: Σ over the visible keys of cell c of softmax(q·k·scale); 0 for a row that sees no key. */
export function attentionSharesRef(
  shape: RefShape,
  q: Float32Array,
  rows: number,
  k: Float32Array,
  keys: number,
  visible: Visibility,
  cellOfKey: (s: number) => number,
  cells: number,
): Float64Array {
  const { heads, kvHeads, headDim: dim, scale, softcap } = shape;
  const group = heads / kvHeads;
  const shares = new Float64Array(rows * heads * cells);
  const scores = new Float64Array(keys);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / group);
      const qBase = (r * heads + h) * dim;
      let max = -Infinity;
      for (let s = 0; s < keys; s++) {
        scores[s] = -Infinity;
        if (!visible(r, s)) continue;
        let dot = 0;
        for (let d = 0; d < dim; d++) dot += q[qBase + d] * k[(s * kvHeads + kvh) * dim + d];
        scores[s] = softcap === undefined ? dot * scale : softcap * Math.tanh((dot * scale) / softcap);
        max = Math.max(max, scores[s]);
      }
      if (max === -Infinity) continue;
      let sum = 0;
      for (let s = 0; s < keys; s++) if (scores[s] !== -Infinity) sum += Math.exp(scores[s] - max);
      const base = (r * heads + h) * cells;
      for (let s = 0; s < keys; s++) if (scores[s] !== -Infinity) shares[base + cellOfKey(s)] += Math.exp(scores[s] - max) / sum;
    }
  }
  return shares;
}

/** The mean over heads of `shares` [rows, heads, cells]: [rows, cells]. */
export function meanOverHeads(shares: Float64Array, rows: number, heads: number, cells: number): Float64Array {
  const mean = new Float64Array(rows * cells);
  for (let r = 0; r < rows; r++) for (let h = 0; h < heads; h++) for (let c = 0; c < cells; c++) mean[r * cells + c] += shares[(r * heads + h) * cells + c] / heads;
  return mean;
}
