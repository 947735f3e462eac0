// Plain-TypeScript references for the attention kernels: softmax attention in double precision with an
// explicit visibility mask, and the Star Attention phase-1 mask.
// q, o: [rows, heads, headDim]; k, v: [keys, kvHeads, headDim]; lse: [rows, heads] (−Infinity when a
// row sees no key, with o = 0 there).
export interface RefShape {
  heads: number;
  kvHeads: number;
  headDim: number;
  scale: number;
  /** Gemma 2: scaled scores s → softcap · tanh(s / softcap). */
  softcap?: number;
}

export interface RefOutput {
  o: Float32Array;
  lse: Float32Array;
}

/** Whether query row r may see key row s. */
export type Visibility = (r: number, s: number) => boolean;

/** Causal by position: key s is visible to query r iff its position is not after the query's. */
export function causalMask(qPositions: ArrayLike<number>, kPositions: ArrayLike<number>): Visibility {
  return (r, s) => kPositions[s] <= qPositions[r];
}

/**
 * A sliding window over another mask, by true positions: key s stays visible to query r only when
 * its position is greater than the query's minus `window` (the anchor's keys included).
 */
export function windowed(mask: Visibility, window: number, qPositions: ArrayLike<number>, kPositions: ArrayLike<number>): Visibility {
  return (r, s) => mask(r, s) && kPositions[s] > qPositions[r] - window;
}

/**
 * Star Attention phase 1 over the keys [anchor (anchorLength keys) ; blocks]: query row r belongs to
 * block floor(r / blockSize) of the batch, key row anchorLength + s to block floor(s / blockSize); a query
 * sees every anchor key and the keys of its own block whose positions are not after its own.
 */
export function starMask(anchorLength: number, blockSize: number, qPositions: ArrayLike<number>, kPositions: ArrayLike<number>): Visibility {
  return (r, s) => {
    if (s < anchorLength) return true;
    const own = Math.floor(r / blockSize) === Math.floor((s - anchorLength) / blockSize);
    return own && kPositions[s] <= qPositions[r];
  };
}

export function attentionRef(
  shape: RefShape,
  q: Float32Array,
  rows: number,
  k: Float32Array,
  v: Float32Array,
  keys: number,
  visible: Visibility,
): RefOutput {
  const { heads, kvHeads, headDim: dim, scale, softcap } = shape;
  const group = heads / kvHeads;
  const o = new Float32Array(rows * heads * dim);
  const lse = new Float32Array(rows * heads);
  const scores = new Float64Array(keys);
  const acc = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / group);
      const qBase = (r * heads + h) * dim;
      let max = -Infinity;
      for (let s = 0; s < keys; s++) {
        if (!visible(r, s)) {
          scores[s] = -Infinity;
          continue;
        }
        const kBase = (s * kvHeads + kvh) * dim;
        let dot = 0;
        for (let d = 0; d < dim; d++) dot += q[qBase + d] * k[kBase + d];
        scores[s] = softcap === undefined ? dot * scale : softcap * Math.tanh((dot * scale) / softcap);
        max = Math.max(max, scores[s]);
      }
      if (max === -Infinity) {
        lse[r * heads + h] = -Infinity;
        continue;
      }
      acc.fill(0);
      let sum = 0;
      for (let s = 0; s < keys; s++) {
        if (scores[s] === -Infinity) continue;
        const p = Math.exp(scores[s] - max);
        sum += p;
        const vBase = (s * kvHeads + kvh) * dim;
        for (let d = 0; d < dim; d++) acc[d] += p * v[vBase + d];
      }
      for (let d = 0; d < dim; d++) o[qBase + d] = acc[d] / sum;
      lse[r * heads + h] = max + Math.log(sum);
    }
  }
  return { o, lse };
}

/** Largest difference between LSEs; −Infinity (no visible key) must be matched by a value ≤ −1e38. */
export function lseDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} vs ${want.length}`);
  let m = 0;
  for (let i = 0; i < got.length; i++) {
    const d = want[i] === -Infinity ? (got[i] <= -1e38 ? 0 : Infinity) : Math.abs(got[i] - want[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}
