// Next-token choice on the CPU from one row of logits, the way transformers' generate() does it:
// repetition penalty, then temperature, top-k and top-p, then a draw from the renormalised softmax.
// Greedy (temperature 0) still applies the repetition penalty, as transformers does.

export interface SamplingOptions {
  /** 0 means greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  seed?: number;
}

export interface Sampler {
  /**
   * Picks the next id from logits[0, vocabSize). previousIds are the ids the repetition penalty
   * applies to (transformers uses the whole sequence: prompt and generated tokens).
   */
  sample(logits: Float32Array, previousIds: readonly number[]): number;
}

export function createSampler(options: SamplingOptions, vocabSize: number): Sampler {
  const temperature = options.temperature ?? 1;
  const topK = options.topK ?? 0;
  const topP = options.topP ?? 1;
  const penalty = options.repetitionPenalty ?? 1;
  if (!(temperature >= 0)) throw new RangeError(`temperature must be ≥ 0, got ${temperature}`);
  if (!(topK >= 0) || !Number.isInteger(topK)) throw new RangeError(`topK must be an integer ≥ 0, got ${topK}`);
  if (!(topP >= 0 && topP <= 1)) throw new RangeError(`topP must be in [0, 1], got ${topP}`);
  if (!(penalty > 0)) throw new RangeError(`repetitionPenalty must be > 0, got ${penalty}`);
  if (!(vocabSize > 0) || !Number.isInteger(vocabSize)) throw new RangeError(`bad vocabSize ${vocabSize}`);

  const random = createRandom(options.seed ?? randomSeed());
  // f64: logits divided by a small temperature must not overflow.
  const scores = new Float64Array(vocabSize);
  const selectScratch = new Float64Array(vocabSize);
  const weights = new Float64Array(vocabSize); // exp(score - max), for the candidates only
  const candidates = new Int32Array(vocabSize);

  return {
    sample(logits, previousIds) {
      if (logits.length < vocabSize) throw new RangeError(`${logits.length} logits for a vocabulary of ${vocabSize}`);
      scores.set(logits.subarray(0, vocabSize));
      if (penalty !== 1) {
        for (const id of new Set(previousIds)) {
          if (id < 0 || id >= vocabSize) continue;
          const s = scores[id];
          scores[id] = s < 0 ? s * penalty : s / penalty;
        }
      }

      let best = 0;
      for (let i = 0; i < vocabSize; i++) {
        const s = scores[i];
        if (Number.isNaN(s)) throw new Error(`logit ${i} is NaN`);
        if (s > scores[best]) best = i;
      }
      if (scores[best] === -Infinity) throw new Error('every logit is -Infinity');
      if (temperature === 0) return best;

      if (temperature !== 1) for (let i = 0; i < vocabSize; i++) scores[i] /= temperature;
      const max = scores[best];

      // Top-k keeps every score ≥ the k-th largest, ties included (torch.topk threshold).
      const floor = topK > 0 && topK < vocabSize ? kthLargest(scores, topK, selectScratch) : -Infinity;
      let kept = gather(scores, floor, candidates);
      let total = 0;
      for (let i = 0; i < kept.length; i++) {
        const id = kept[i];
        weights[id] = Math.exp(scores[id] - max);
        total += weights[id];
      }
      if (topP < 1) kept = kept.subarray(0, nucleus(scores, weights, kept, topP * total, max - 10));
      return draw(weights, kept, random());
    },
  };
}

/**
 * Top-p: the tokens, taken best first, whose higher-ranked mass is still below `bar` (at least one).
 * A quickselect on mass instead of a sort: reorders ids so that those kept come first, returns how many.
 */
function nucleus(scores: Float64Array, weights: Float64Array, ids: Int32Array, bar: number, guess: number): number {
  let lo = 0;
  let hi = ids.length;
  let above = 0; // mass of ids[0, lo), which all rank above ids[lo, hi)
  // Any pivot is correct; the first one is a guess that isolates the few tokens of a peaked
  // distribution in one pass. Then median of three.
  for (let pivot = guess; lo < hi; pivot = median(scores[ids[lo]], scores[ids[(lo + hi) >>> 1]], scores[ids[hi - 1]])) {
    // Three-way partition of [lo, hi): greater [lo, a), equal [a, b), less [b, hi).
    let a = lo;
    let i = lo;
    let b = hi;
    while (i < b) {
      const s = scores[ids[i]];
      if (s > pivot) swap(ids, a++, i++);
      else if (s < pivot) swap(ids, i, --b);
      else i++;
    }
    let greater = 0;
    for (let j = lo; j < a; j++) greater += weights[ids[j]];
    if (a > lo && above + greater >= bar) {
      hi = a;
      continue;
    }
    above += greater;
    for (let j = a; j < b; j++) {
      if (j > 0 && above >= bar) return j;
      above += weights[ids[j]];
    }
    lo = b;
  }
  return lo;
}

function swap(a: Int32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

function draw(weights: Float64Array, kept: Int32Array, u: number): number {
  let total = 0;
  for (let i = 0; i < kept.length; i++) total += weights[kept[i]];
  const target = u * total;
  let sum = 0;
  let last = kept[0];
  for (let i = 0; i < kept.length; i++) {
    const weight = weights[kept[i]];
    if (weight === 0) continue;
    sum += weight;
    last = kept[i];
    if (target < sum) return last;
  }
  return last; // rounding left target at the very top
}

function gather(scores: Float64Array, floor: number, out: Int32Array): Int32Array {
  let n = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] >= floor && scores[i] > -Infinity) out[n++] = i;
  return out.subarray(0, n);
}

/** The k-th largest value (k ≥ 1), by quickselect on a copy. */
function kthLargest(values: Float64Array, k: number, scratch: Float64Array): number {
  const a = scratch.subarray(0, values.length);
  a.set(values);
  let lo = 0;
  let hi = a.length - 1;
  const target = k - 1; // index in descending order
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const pivot = median(a[lo], a[mid], a[hi]);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target];
  }
  return a[target];
}

function median(a: number, b: number, c: number): number {
  return a > b ? (b > c ? b : a > c ? c : a) : a > c ? a : b > c ? c : b;
}

/** sfc32 seeded through splitmix32: the same seed gives the same draws everywhere. */
function createRandom(seed: number): () => number {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

export interface StopChecker {
  /**
   * Feeds streamed text; returns what is safe to show. Text that could be the start of a stop string
   * is held back. Once a stop string appears, returns the text before it and stopped = true; the stop
   * string itself is not returned.
   */
  push(text: string): { text: string; stopped: boolean };
  /** The held-back text, when generation ended for another reason. */
  flush(): string;
}

export function createStopChecker(stopStrings: readonly string[]): StopChecker {
  const stops = stopStrings.filter((s) => s.length > 0);
  let pending = '';
  let stopped = false;
  return {
    push(text) {
      if (stopped) return { text: '', stopped };
      pending += text;
      let at = -1;
      for (const stop of stops) {
        const i = pending.indexOf(stop);
        if (i >= 0 && (at < 0 || i < at)) at = i;
      }
      if (at >= 0) {
        stopped = true;
        const out = pending.slice(0, at);
        pending = '';
        return { text: out, stopped };
      }
      let hold = 0;
      for (const stop of stops) {
        for (let k = Math.min(stop.length - 1, pending.length); k > hold; k--) {
          if (pending.endsWith(stop.slice(0, k))) {
            hold = k;
            break;
          }
        }
      }
      const out = pending.slice(0, pending.length - hold);
      pending = pending.slice(pending.length - hold);
      return { text: out, stopped };
    },
    flush() {
      const out = pending;
      pending = '';
      return out;
    },
  };
}
