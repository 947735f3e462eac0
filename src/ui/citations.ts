// Which answer's citations the app shows, and how a passage is named: pure helpers for the chat's
// source chips and the document's cited view (the component and the hook use the same).
import type { AnswerCitations } from '../star/reader-api.ts';
import type { ChatMessage } from './session.ts';

/** Characters [start, end) of the document text. */
export interface TextRange {
  start: number;
  end: number;
}

/** An answer's citations as selected: the answer (message id) and, once a source or span was picked, its text. */
export interface CitationSelection {
  message: number;
  /** The passage shown; undefined: the heat strip only. */
  range?: TextRange;
}

/** The selected answer's citations, or, with no (or a stale) selection, the latest answer's. */
export function selectedCitations(
  messages: readonly ChatMessage[],
  selection: CitationSelection | undefined,
): { message: number; citations: AnswerCitations; range?: TextRange } | undefined {
  const chosen = selection && messages.find((m) => m.id === selection.message);
  if (selection && chosen?.stats?.citations) return { message: chosen.id, citations: chosen.stats.citations, range: selection.range };
  const latest = messages.findLast((m) => m.role === 'assistant' && m.stats?.citations);
  return latest?.stats?.citations ? { message: latest.id, citations: latest.stats.citations } : undefined;
}

/** The passage's text, on one line, cut to about `chars` characters. */
export function passageSnippet(text: string, passage: TextRange, chars = 80): string {
  const flat = text.slice(passage.start, passage.end).replace(/\s+/g, ' ').trim();
  return flat.length > chars ? `${flat.slice(0, chars - 1).trimEnd()}…` : flat;
}

/** A share as a percentage for people: "34%", "<1%". */
export function formatShare(share: number): string {
  const percent = share * 100;
  return percent > 0 && percent < 1 ? '<1%' : `${Math.round(percent)}%`;
}
