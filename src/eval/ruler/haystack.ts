// Fits a sample to a token budget: the most filler units whose prompt stays within it, as RULER's
// generators do by adding filler until the prompt is too long. Counting tokens means tokenizing the
// whole prompt, so the search interpolates from the measured tokens per unit (secant steps inside a
// bracket) and usually finishes in three or four counts instead of one per step.

export interface Fit<T> {
  value: T;
  units: number;
  tokens: number;
}

/**
 * The largest units in [min, max] with count(build(units)) ≤ budget, assuming counts grow with units;
 * undefined when even `min` is over. `guess` (e.g. the previous sample's fit) starts the search.
 */
export function fitUnits<T>(
  build: (units: number) => T,
  count: (value: T) => number,
  budget: number,
  { min, max, guess }: { min: number; max: number; guess?: number },
): Fit<T> | undefined {
  const measure = (units: number) => {
    const value = build(units);
    return { value, units, tokens: count(value) };
  };
  let lo = measure(min);
  if (lo.tokens > budget) return undefined;
  let hi: { units: number; tokens: number } | undefined; // the fewest units known to be over budget
  let last = lo;
  let candidate = guess ?? min + 16;
  for (let step = 0; (hi?.units ?? max + 1) - lo.units > 1; step++) {
    if (step > 64) throw new Error('fitUnits: the token count does not grow with the filler');
    const top = (hi?.units ?? max + 1) - 1;
    const units = Math.max(lo.units + 1, Math.min(top, Math.round(candidate)));
    const point = measure(units);
    if (point.tokens <= budget) lo = point;
    else hi = point;
    // Secant through the bracket (or the last two points while there is no upper bound); plain
    // bisection after a few steps in case the counts are far from linear.
    const [a, b] = hi ? [lo, hi] : [last.units < point.units ? last : point, last.units < point.units ? point : last];
    const slope = b.units > a.units && b.tokens > a.tokens ? (b.tokens - a.tokens) / (b.units - a.units) : 0;
    last = point;
    if (step >= 6 && hi) candidate = (lo.units + hi.units) / 2;
    else if (slope > 0) candidate = lo.units + Math.floor((budget - lo.tokens) / slope);
    else candidate = hi ? (lo.units + hi.units) / 2 : lo.units * 2 + 1;
  }
  return lo;
}
