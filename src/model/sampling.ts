// Next-token choice on the CPU from one row of logits, the way transformers' generate() does it:
// repetition penalty, then temperature, top-k and top-p, then a draw from the renormalised softmax.
// Greedy (temperature 0) still applies the repetition penalty, as transformers does.
//
// The penalty is computed in f32, as transformers does on f32 logits, with one difference: a positive
// logit is multiplied by f32(1 / penalty) instead of divided by the penalty (at most an ulp apart),
// because the GPU sampler (src/model/gpu-sampler.ts) must compute the same bits and WGSL's f32 division
// is not correctly rounded. Everything after the penalty is f64.
//
// The token depends only on the scores and the random draw, never on the order work was done in:
// top-p ties go to the lower ids and the draw walks the kept ids in increasing order. That is what lets
// the GPU sampler reach the same token from its C best candidates (TokenChooser.fromCandidates).

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
   * applies to (transformers uses the whole sequence: prompt and generated tokens). The same array
   * passed again, grown at its end (as a decode loop pushes each token), costs only its new ids;
   * another array, or a shorter one, is read whole.
   */
  sample(logits: Float32Array, previousIds: readonly number[]): number;
}

/** Options checked and resolved into the numbers both samplers compute with. */
export interface SamplingPlan {
  readonly vocabSize: number;
  /** 0: greedy. */
  readonly temperature: number;
  /** 0: off (also when asked for ≥ vocabSize). */
  readonly topK: number;
  /** 1: off. */
  readonly topP: number;
  /** 1: off. An f32 value, as is inversePenalty = f32(1 / penalty). */
  readonly penalty: number;
  readonly inversePenalty: number;
}

export function planSampling(options: SamplingOptions, vocabSize: number): SamplingPlan {
  const temperature = options.temperature ?? 1;
  const topK = options.topK ?? 0;
  const topP = options.topP ?? 1;
  const penalty = options.repetitionPenalty ?? 1;
  if (!(temperature >= 0)) throw new RangeError(`temperature must be ≥ 0, got ${temperature}`);
  if (!(topK >= 0) || !Number.isInteger(topK)) throw new RangeError(`topK must be an integer ≥ 0, got ${topK}`);
  if (!(topP >= 0 && topP <= 1)) throw new RangeError(`topP must be in [0, 1], got ${topP}`);
  if (!(penalty > 0)) throw new RangeError(`repetitionPenalty must be > 0, got ${penalty}`);
  if (!(vocabSize > 0) || !Number.isInteger(vocabSize)) throw new RangeError(`bad vocabSize ${vocabSize}`);
  const penalty32 = Math.fround(penalty);
  return {
    vocabSize,
    temperature,
    topK: topK < vocabSize ? topK : 0,
    topP,
    penalty: penalty32,
    inversePenalty: Math.fround(1 / penalty32),
  };
}

/** The ids the repetition penalty applies to: a flag per vocabulary id, set as ids arrive, never rebuilt. */
export class SeenIds {
  readonly flags: Uint8Array;
  /** The distinct ids seen, in the order first seen: distinct[0, count). */
  private readonly distinct: Int32Array;
  private count = 0;

  constructor(readonly vocabSize: number) {
    this.flags = new Uint8Array(vocabSize);
    this.distinct = new Int32Array(vocabSize);
  }

  /** Marks ids[from, end); ids outside the vocabulary have no logit and are ignored. */
  add(ids: readonly number[], from = 0): void {
    for (let i = from; i < ids.length; i++) this.mark(ids[i]);
  }

  mark(id: number): void {
    if (id >= 0 && id < this.vocabSize && this.flags[id] === 0) {
      this.flags[id] = 1;
      this.distinct[this.count++] = id;
    }
  }

  clear(): void {
    for (let i = 0; i < this.count; i++) this.flags[this.distinct[i]] = 0;
    this.count = 0;
  }

  list(): Int32Array {
    return this.distinct.subarray(0, this.count);
  }
}

/** A logit after the repetition penalty (see the header): bit for bit sample_penalised on the GPU. */
export function penalised(logit: number, seen: boolean, plan: SamplingPlan): number {
  if (!seen || !Number.isFinite(logit)) return logit;
  return Math.fround(logit * (logit < 0 ? plan.penalty : plan.inversePenalty));
}

/** What the GPU sampler reads back: the C best ids by penalised score (ties: lower id) and a summary of the others. */
export interface CandidateSet {
  /** Candidate ids, in any order, and their raw (unpenalised) logits. */
  ids: ArrayLike<number>;
  logits: ArrayLike<number>;
  /** The best penalised score among the other ids; −Infinity when there are none. */
  bestOther: number;
  /** Σ exp((score − max) / temperature) over the other ids, accurate within restMassTolerance (relative). */
  restMass: number;
}

/**
 * Relative error allowed on CandidateSet.restMass. The GPU sums in f32 with WGSL's exp (a few hundred
 * ulp at worst): well under 1e-4; this leaves a factor of ten.
 */
const restMassTolerance = 1e-3;
/** Relative slack of a top-p bar for the different order of the f64 sums on the two paths. */
const sumOrderSlack = 1e-9;

/** Token choice from a plan, the seen ids and one seeded random stream; shared by createSampler and the GPU sampler. */
export class TokenChooser {
  readonly seen: SeenIds;
  private readonly random: () => number;
  // f64: logits divided by a small temperature must not overflow. Indexed by id.
  private readonly scores: Float64Array;
  private readonly weights: Float64Array; // exp(score - max), for the kept ids only
  private readonly selectScratch: Float64Array;
  private readonly kept: Int32Array;
  private readonly idScratch: Int32Array;
  private readonly nucleusScratch: Int32Array;
  private readonly everyId: Int32Array;

  constructor(
    readonly plan: SamplingPlan,
    seed: number = randomSeed(),
  ) {
    const n = plan.vocabSize;
    this.seen = new SeenIds(n);
    this.random = createRandom(seed);
    this.scores = new Float64Array(n);
    this.weights = new Float64Array(n);
    this.selectScratch = new Float64Array(n);
    this.kept = new Int32Array(n);
    this.idScratch = new Int32Array(n);
    this.nucleusScratch = new Int32Array(n);
    this.everyId = Int32Array.from({ length: n }, (_, i) => i);
  }

  /** The full path: the token for a whole row of logits (at least vocabSize of them). */
  fromLogits(logits: Float32Array): number {
    const { vocabSize, temperature, topK } = this.plan;
    if (logits.length < vocabSize) throw new RangeError(`${logits.length} logits for a vocabulary of ${vocabSize}`);
    const scores = this.scores;
    scores.set(logits.subarray(0, vocabSize));
    if (this.plan.penalty !== 1) for (const id of this.seen.list()) scores[id] = penalised(scores[id], true, this.plan);

    let best = 0;
    for (let i = 0; i < vocabSize; i++) {
      const s = scores[i];
      if (Number.isNaN(s)) throw new Error(`logit ${i} is NaN`);
      if (s > scores[best]) best = i;
    }
    if (scores[best] === -Infinity) throw new Error('every logit is -Infinity');
    if (temperature === 0) return best;
    if (temperature !== 1) for (let i = 0; i < vocabSize; i++) scores[i] /= temperature;

    let floor = -Infinity;
    if (topK > 0) {
      this.selectScratch.set(scores);
      floor = kthLargestInPlace(this.selectScratch, topK);
    }
    return this.drawFromKept(gatherAtLeast(scores, this.everyId, floor, this.kept), scores[best]);
  }

  /**
   * The candidate path: the token fromLogits would give for the whole row, from the C best ids alone;
   * or undefined, with no random number used, when they do not settle it: plain temperature sampling,
   * top-k beyond them or tied with an id outside them, or a top-p nucleus that reaches past them or
   * whose cut is too close to call with the GPU's rest mass. Sampling only: greedy picks on the GPU.
   */
  fromCandidates(c: CandidateSet): number | undefined {
    const { temperature, topK, topP, vocabSize } = this.plan;
    if (temperature === 0) throw new Error('fromCandidates is for sampling; the GPU picks greedy tokens itself');
    const n = c.ids.length;
    if (n === vocabSize) return this.fromLogits(rowOf(c, vocabSize));
    if (topK === 0 && topP === 1) return undefined; // any id can be drawn
    if (topK > n) return undefined;

    const scores = this.scores;
    const ids = this.idScratch.subarray(0, n);
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const id = c.ids[i];
      ids[i] = id;
      scores[id] = penalised(c.logits[i], this.seen.flags[id] === 1, this.plan) / temperature;
      if (scores[id] > max) max = scores[id];
    }
    if (max === -Infinity) throw new Error('every logit is -Infinity');
    ids.sort(); // ascending, as fromLogits gathers
    const bound = c.bestOther / temperature;

    if (topK > 0) {
      const values = this.selectScratch.subarray(0, n);
      for (let i = 0; i < n; i++) values[i] = scores[ids[i]];
      const floor = kthLargestInPlace(values, topK);
      if (!(floor > bound)) return undefined; // an id outside the candidates ties with the k-th
      return this.drawFromKept(gatherAtLeast(scores, ids, floor, this.kept), max);
    }

    // Top-p alone: the total mass includes the other ids', known to the GPU only approximately. The
    // nucleus is settled if its size is the same at both ends of the total's error, ends before the
    // candidates do, and its ids rank above every id outside them.
    const kept = gatherAtLeast(scores, ids, -Infinity, this.kept);
    const candidateMass = this.weigh(kept, max);
    const rest = Math.max(0, c.restMass);
    const cut = (mass: number) => {
      const order = this.nucleusScratch.subarray(0, kept.length);
      order.set(kept);
      return { order, size: nucleus(scores, this.weights, order, topP * mass, max - 10) };
    };
    const low = cut((candidateMass + rest * (1 - restMassTolerance)) * (1 - sumOrderSlack)).size;
    const { order, size } = cut((candidateMass + rest * (1 + restMassTolerance)) * (1 + sumOrderSlack));
    if (low !== size || size >= kept.length) return undefined;
    const nucleusIds = order.subarray(0, size).sort();
    // An id outside tied with a kept one is fine: the GPU took the lower ids of a tie, as the nucleus does.
    for (const id of nucleusIds) if (!(scores[id] >= bound)) return undefined;
    return draw(this.weights, nucleusIds, this.random());
  }

  /** Top-p over `kept` (ascending ids, scores already scaled), then the draw. */
  private drawFromKept(kept: Int32Array, max: number): number {
    const total = this.weigh(kept, max);
    if (this.plan.topP < 1) kept = kept.subarray(0, nucleus(this.scores, this.weights, kept, this.plan.topP * total, max - 10)).sort();
    return draw(this.weights, kept, this.random());
  }

  /** Sets weights[id] = exp(score − max) over `ids`; returns their sum, taken in the order of `ids`. */
  private weigh(ids: Int32Array, max: number): number {
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      this.weights[id] = Math.exp(this.scores[id] - max);
      total += this.weights[id];
    }
    return total;
  }
}

export function createSampler(options: SamplingOptions, vocabSize: number): Sampler {
  const chooser = new TokenChooser(planSampling(options, vocabSize), options.seed ?? randomSeed());
  let tracked: readonly number[] | undefined;
  let trackedLength = 0;
  return {
    sample(logits, previousIds) {
      if (chooser.plan.penalty !== 1) {
        if (previousIds !== tracked || previousIds.length < trackedLength) {
          chooser.seen.clear();
          trackedLength = 0;
        }
        chooser.seen.add(previousIds, trackedLength);
        tracked = previousIds;
        trackedLength = previousIds.length;
      }
      return chooser.fromLogits(logits);
    },
  };
}

/** The whole row, when the candidates are every id. */
function rowOf(c: CandidateSet, vocabSize: number): Float32Array {
  const row = new Float32Array(vocabSize);
  for (let i = 0; i < c.ids.length; i++) row[c.ids[i]] = c.logits[i];
  return row;
}

/** The ids of `ids` (in their order) whose score is ≥ floor and finite. */
function gatherAtLeast(scores: Float64Array, ids: Int32Array, floor: number, out: Int32Array): Int32Array {
  let n = 0;
  for (let i = 0; i < ids.length; i++) {
    const s = scores[ids[i]];
    if (s >= floor && s > -Infinity) out[n++] = ids[i];
  }
  return out.subarray(0, n);
}

/** The k-th largest of `a` (k ≥ 1) by quickselect, reordering `a`. */
function kthLargestInPlace(a: Float64Array, k: number): number {
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

/**
 * Top-p: the tokens, taken best first (ties: lower id first), whose higher-ranked mass is still below
 * `bar` (at least one). A quickselect on mass instead of a sort: reorders ids so that those kept come
 * first, returns how many.
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
    ids.subarray(a, b).sort(); // equal scores: lower ids first
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
