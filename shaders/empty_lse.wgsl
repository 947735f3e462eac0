// "Minus infinity" as a finite number: the running max and the LSE of a row that has seen no key.
// Merging weighs such a partial 0 (lse_merge.wgsl), and citations skip it (attention_citations.wgsl).
const EMPTY_LSE = -3.4e38;
