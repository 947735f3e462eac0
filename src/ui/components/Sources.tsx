import type { AnswerCitations } from '../../star/reader-api.ts';
import { formatShare, passageSnippet, type TextRange } from '../citations.ts';

interface Props {
  citations: AnswerCitations;
  /** The document text the passages index into. */
  text: string;
  /** The text shown in the document, when this answer is the selected one. */
  selected?: TextRange;
  onSelect: (passage: TextRange) => void;
}

/** An answer's sources: one chip per cited passage; a chip shows its passage in the document view. */
export function Sources({ citations, text, selected, onSelect }: Props) {
  if (citations.passages.length === 0) return null;
  return (
    <div className="sources" data-testid="sources">
      <span className="sources-label">Sources</span>
      <ol className="chips" aria-label="Sources in the document">
        {citations.passages.map((p, i) => {
          const on = selected?.start === p.start && selected.end === p.end;
          return (
            <li key={`${p.start}-${p.end}`}>
              <button
                type="button"
                className={`chip source-chip${on ? ' on' : ''}`}
                aria-pressed={on}
                title={passageSnippet(text, p)}
                aria-label={`Source ${i + 1}: ${formatShare(p.share)} of the answer's attention, “${passageSnippet(text, p, 60)}”`}
                onClick={() => onSelect({ start: p.start, end: p.end })}
                data-testid="source-chip"
                data-start={p.start}
                data-end={p.end}
              >
                <span className="source-number">{i + 1}</span> {formatShare(p.share)}
              </button>
            </li>
          );
        })}
      </ol>
    </div>
  );
}
