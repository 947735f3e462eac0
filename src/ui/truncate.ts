// Cutting a document to a token budget with only a token counter (the Reader has no tokenizer API).

/**
 * The longest prefix of `text` with at most `maxTokens` tokens, cut after whitespace when one is near.
 * Binary search over characters, started near the proportional guess: about log2(length) counts.
 */
export function prefixWithinTokens(
  countTokens: (text: string) => number,
  text: string,
  maxTokens: number,
): { chars: number; tokens: number } {
  const total = countTokens(text);
  if (total <= maxTokens) return { chars: text.length, tokens: total };
  let fits = 0;
  let tooLong = text.length;
  // Start near the proportional guess: tokens per character barely changes within one document.
  const guess = Math.floor((text.length * maxTokens) / total);
  for (const probe of [Math.floor(guess * 0.97), Math.ceil(guess * 1.03)]) {
    if (probe <= fits || probe >= tooLong) continue;
    if (countTokens(text.slice(0, probe)) <= maxTokens) fits = probe;
    else tooLong = probe;
  }
  while (tooLong - fits > 1) {
    const mid = (fits + tooLong) >> 1;
    if (countTokens(text.slice(0, mid)) <= maxTokens) fits = mid;
    else tooLong = mid;
  }
  const space = text.slice(Math.max(0, fits - 200), fits).search(/\s\S*$/);
  const chars = space >= 0 ? Math.max(0, fits - 200) + space + 1 : fits;
  return { chars, tokens: countTokens(text.slice(0, chars)) };
}
