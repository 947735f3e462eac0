// RULER's noise filler (niah_single_1's "repeat" haystack and variable tracking's noise): the same
// five short sentences over and over, one line per repetition.

export const NOISE_LINE = 'The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.';
