// RULER's scoring (scripts/eval/evaluate.py and scripts/eval/synthetic/constants.py): the prediction
// is stripped and its control characters turned into newlines; a sample scores the fraction of its
// reference strings found in the prediction, case-insensitively; a task scores the mean ×100.

/** RULER's postprocess_pred. */
export function cleanPrediction(prediction: string): string {
  // eslint-disable-next-line no-control-regex
  return prediction.trim().replace(/[\x00-\x1f]/g, '\n').trim();
}

/** One sample of RULER's string_match_all, in [0, 1]. */
export function stringMatchAll(prediction: string, references: readonly string[]): number {
  if (references.length === 0) throw new Error('a sample needs at least one reference');
  const text = cleanPrediction(prediction).toLowerCase();
  return references.filter((r) => text.includes(r.toLowerCase())).length / references.length;
}

/** A task's score as RULER prints it: the mean of string_match_all over samples ×100, rounded to 2 decimals. */
export function taskScore(samples: readonly { prediction: string; references: readonly string[] }[]): number {
  if (samples.length === 0) throw new Error('no samples to score');
  const mean = samples.reduce((sum, s) => sum + stringMatchAll(s.prediction, s.references), 0) / samples.length;
  return Math.round(mean * 100 * 100) / 100;
}
