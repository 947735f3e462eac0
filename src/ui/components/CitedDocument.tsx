import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import type { AnswerCitations } from '../../star/reader-api.ts';
import { formatShare, type TextRange } from '../citations.ts';

interface Props {
  /** The document text the citations index into. */
  text: string;
  citations: AnswerCitations;
  /** The text to scroll to and highlight: a source chip's passage or a span picked on the strip. */
  highlight?: TextRange;
  onSelect: (range: TextRange) => void;
}

/**
 * The document as the selected answer saw it: its text with the chosen passage highlighted and
 * scrolled into view, beside a heat strip with one cell per span, as dark as the span's share of the
 * answer's attention. The strip is one tab stop; arrow keys, Home and End move along it, Enter shows
 * the span.
 */
export function CitedDocument({ text, citations, highlight, onSelect }: Props) {
  const ids = useId();
  const mark = useRef<HTMLElement>(null);
  const textBox = useRef<HTMLParagraphElement>(null);
  const strip = useRef<HTMLOListElement>(null);
  const { spans } = citations;
  const max = Math.max(...spans.map((s) => s.share), 1e-9);
  const [focus, setFocus] = useState(0);

  useEffect(() => {
    const box = textBox.current;
    const passage = mark.current;
    if (!box || !passage) return;
    // The text box scrolls, not the page: scrollIntoView would also move the page under the reader
    // (and its keyboard position) whenever an answer picks its first source.
    const offset = passage.getBoundingClientRect().top - box.getBoundingClientRect().top;
    box.scrollTo?.({ top: box.scrollTop + offset - box.clientHeight / 2 + passage.offsetHeight / 2, behavior: 'smooth' });
  }, [highlight?.start, highlight?.end]);

  const moveFocus = (event: KeyboardEvent<HTMLOListElement>) => {
    const step = ({ ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1, Home: -Infinity, End: Infinity } as Record<string, number>)[event.key];
    if (step === undefined) return;
    event.preventDefault();
    const next = Math.min(spans.length - 1, Math.max(0, focus + step));
    setFocus(next);
    strip.current?.querySelectorAll('button')[next]?.focus();
  };

  return (
    <section className="cited-document" aria-labelledby={`${ids}-title`} data-testid="cited-document">
      <div className="panel-head">
        <h3 id={`${ids}-title`} className="cited-title">
          Where the answer looked
        </h3>
        <span className="hint" data-testid="document-share">
          {formatShare(citations.documentShare)} of its attention went to the document
        </span>
      </div>
      <div className="cited-body">
        <ol className="heat-strip" ref={strip} aria-label="Attention along the document" onKeyDown={moveFocus} data-testid="heat-strip">
          {spans.map((s, i) => (
            <li key={s.start} style={{ flexGrow: Math.max(1, s.end - s.start) }}>
              <button
                type="button"
                tabIndex={i === focus ? 0 : -1}
                className={`heat-cell${highlight && highlight.start < s.end && s.start < highlight.end ? ' on' : ''}`}
                style={{ opacity: 0.12 + 0.88 * (s.share / max) }}
                aria-label={`Characters ${s.start + 1}–${s.end}: ${formatShare(s.share)} of the attention`}
                title={formatShare(s.share)}
                onClick={() => {
                  setFocus(i);
                  onSelect({ start: s.start, end: s.end });
                }}
                data-testid="heat-cell"
              />
            </li>
          ))}
        </ol>
        <p className="cited-text" ref={textBox} tabIndex={0} aria-label="Document text" data-testid="cited-text">
          {highlight ? text.slice(0, highlight.start) : text}
          {highlight && (
            <mark ref={mark} className="cited-passage" data-testid="cited-passage">
              {text.slice(highlight.start, highlight.end)}
            </mark>
          )}
          {highlight && text.slice(highlight.end)}
        </p>
      </div>
    </section>
  );
}
