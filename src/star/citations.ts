// Citations as the reader returns them: the decoded tokens' attention shares per span of positions
// (Transformer.startCitations, recorded on the GPU) turned into character ranges of the document text.
import type { TextTokenizer } from '../model/tokenizer.ts';
import type { CitationShares } from '../model/transformer.ts';
import type { AnswerCitations, CitedPassage } from './reader-api.ts';

/** Where the document's tokens are: the first one's position and each one's start in the document text. */
export interface DocumentTokenMap {
  /** Position (context token index) of the first token that holds document text: the citation grid's origin. */
  origin: number;
  /** starts[i]: where token origin + i starts in the document text, for the document's tokens and one past them. */
  starts: number[];
  /** Characters of the document text. */
  length: number;
}

/**
 * Maps the context's tokens to the document text they hold, by decoding them one at a time (with the
 * special tokens, as the chat template wrote them) and finding the document in that text. Undefined when
 * the decoded context does not hold the document verbatim (a tokenizer that normalises text).
 */
export function mapDocumentTokens(tokenizer: TextTokenizer, contextIds: readonly number[], document: string): DocumentTokenMap | undefined {
  if (document.length === 0) return undefined;
  const decoder = tokenizer.createStreamDecoder({ skipSpecialTokens: false });
  // ends[k]: characters decoded once token k is in. A token that completes a held-back piece gets its
  // text; one that emits nothing yet gets the previous end.
  const ends = new Array<number>(contextIds.length);
  let text = '';
  contextIds.forEach((id, k) => {
    text += decoder.push(id);
    ends[k] = text.length;
  });
  text += decoder.flush();
  if (contextIds.length > 0) ends[contextIds.length - 1] = text.length;
  const base = text.indexOf(document);
  if (base < 0) return undefined;
  const first = ends.findIndex((end) => end > base);
  if (first < 0) return undefined;
  const starts = [Math.max(0, (first === 0 ? 0 : ends[first - 1]) - base)];
  for (let k = first; k < contextIds.length && starts[starts.length - 1] < document.length; k++) starts.push(Math.min(document.length, ends[k] - base));
  return { origin: first, starts, length: document.length };
}

/**
 * The answer's citations: each span's share averaged over the answer's decoded tokens, the spans of the
 * document as character ranges (the heat strip), and the `top` largest as its passages. Spans before the
 * document (the template's prefix) or after it (the question, the answer) are left out of both; their
 * share is what `documentShare` misses of 1.
 */
export function answerCitations(recorded: CitationShares, map: DocumentTokenMap, top: number): AnswerCitations | undefined {
  const { grid, cells, rows, shares } = recorded;
  if (rows === 0) return undefined;
  const documentTokens = map.starts.length - 1;
  const firstCell = Math.ceil(grid.origin / grid.keys);
  const spans: CitedPassage[] = [];
  for (let cell = firstCell; cell < cells; cell++) {
    const from = (cell - firstCell) * grid.keys; // document token index
    if (from >= documentTokens) break;
    const to = Math.min(documentTokens, from + grid.keys);
    let share = 0;
    for (let r = 0; r < rows; r++) share += shares[r * cells + cell];
    spans.push({ start: map.starts[from], end: map.starts[to], share: share / rows });
  }
  const documentShare = spans.reduce((sum, s) => sum + s.share, 0);
  const passages = [...spans].sort((a, b) => b.share - a.share || a.start - b.start).slice(0, top);
  return { passages, spans, documentShare, tokens: rows, layers: recorded.layers.length };
}
