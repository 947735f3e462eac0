import { useId, useRef, useState, type DragEvent, type ReactNode } from 'react';
import { describeError, type UiError } from '../errors.ts';
import { documentAccept, readDocumentFile } from '../files.ts';
import { formatBytes, formatCount, formatDuration, formatPerSecond, formatTokensShort } from '../format.ts';
import type { DocumentInput, SessionState } from '../session.ts';
import { ErrorNotice } from './ErrorNotice.tsx';
import { ProgressBar } from './ProgressBar.tsx';

interface Props {
  state: SessionState;
  /** Document tokens that fit the context with room for the answer; undefined without a model. */
  budget?: number;
  onDocument: (doc: DocumentInput) => void;
  onClear: () => void;
  onTruncate: () => void;
  onWhole: () => void;
  onEncode: () => void;
  onCancel: () => void;
  onDismissError: () => void;
  /** Shown under the document card: the selected answer's view of the document (CitedDocument). */
  children?: ReactNode;
}

/** Characters of the document the preview shows: enough to see that the text came out right. */
const previewChars = 4000;

export function DocumentPanel({ state, budget, onDocument, onClear, onTruncate, onWhole, onEncode, onCancel, onDismissError, children }: Props) {
  const { document: doc, tokens, model, phase, encoded, encodeProgress } = state;
  const ids = useId();
  const fileInput = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const [opening, setOpening] = useState<string>();
  const [fileError, setFileError] = useState<UiError>();
  const [pasted, setPasted] = useState('');
  const [pasteOpen, setPasteOpen] = useState(false);

  const open = async (file: File | undefined) => {
    if (!file) return;
    setFileError(undefined);
    setOpening(file.name);
    try {
      onDocument(await readDocumentFile(file));
    } catch (error) {
      setFileError(describeError(error, 'file'));
    } finally {
      setOpening(undefined);
    }
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    void open(event.dataTransfer.files[0]);
  };

  const usePasted = () => {
    if (!pasted.trim()) return;
    onDocument({ name: 'Pasted text', kind: 'pasted', text: pasted });
    setPasted('');
    setPasteOpen(false);
  };

  const encoding = phase === 'encoding';
  const isEncoded = !!doc && encoded?.version === doc.version;
  const documentError = state.error?.step === 'document' && state.error.kind !== 'lost' ? state.error : undefined;
  const counted = tokens.status === 'counted' ? tokens : undefined;
  const tooLong = counted && budget !== undefined && counted.used > budget;
  const kvBytes = encoded?.kvBytesPerHost.reduce((a, b) => a + b, 0) ?? 0;

  return (
    <section className="panel" aria-labelledby={`${ids}-title`} data-testid="document-panel">
      <h2 id={`${ids}-title`} className="panel-title">
        Document
      </h2>

      {doc && (
        <div className="document-card" data-testid="document-card">
          <div className="document-head">
            <p className="document-name" data-testid="document-name">
              {doc.name}
            </p>
            <button type="button" className="button small quiet" onClick={onClear} aria-label={`Remove ${doc.name}`}>
              Remove
            </button>
          </div>
          <p className="document-meta" data-testid="document-meta">
            {doc.kind.toUpperCase()}
            {doc.pages !== undefined && ` · ${formatCount(doc.pages)} pages`} · {formatCount(doc.text.length)} characters
          </p>
          <details className="document-preview" data-testid="document-preview">
            <summary>Show the text</summary>
            <p className="document-preview-text" tabIndex={0} aria-label={`Text of ${doc.name}`}>
              {doc.text.slice(0, previewChars)}
              {doc.text.length > previewChars && <span className="hint"> … ({formatCount(doc.text.length - previewChars)} more characters)</span>}
            </p>
          </details>

          <div className="token-line" aria-live="polite">
            {tokens.status === 'needs-model' && (
              <p className="hint" data-testid="token-count-pending">
                Load a model first: the token count depends on its tokenizer.
              </p>
            )}
            {tokens.status === 'counting' && <p className="hint">Counting tokens…</p>}
            {counted && model && (
              <TokenMeter used={counted.used} total={counted.total} window={model.contextWindow} budget={budget} />
            )}
          </div>

          {tooLong && (
            <div className="notice warn" data-testid="too-long">
              <p>
                {formatCount(counted.used)} tokens do not fit: the model reads {formatTokensShort(model!.contextWindow)} tokens,
                and {formatCount(model!.contextWindow - (budget ?? 0))} stay free for the question and the answer. Read only its
                beginning, or pick a model with a longer context window (the model list shows each one&rsquo;s).
              </p>
              <button type="button" className="button small" onClick={onTruncate} disabled={encoding}>
                Truncate to the first {formatCount(budget ?? 0)} tokens
              </button>
            </div>
          )}
          {doc.useChars !== undefined && counted && (
            <div className="notice info" data-testid="truncated">
              <p>
                Reading the first {formatCount(counted.used)} of {formatCount(counted.total)} tokens (
                {Math.round((doc.useChars / doc.text.length) * 100)}% of the text). The rest is kept.
              </p>
              <button type="button" className="button small" onClick={onWhole} disabled={encoding}>
                Use the whole document
              </button>
            </div>
          )}

          {encoding && encodeProgress && (
            <ProgressBar label="Reading the document (phase 1)" unit="tokens" progress={encodeProgress} onCancel={onCancel} testId="encode-progress" />
          )}
          {isEncoded && encoded && (
            <p className="encode-stats" data-testid="encode-stats">
              Read {formatCount(encoded.tokens)} tokens in {formatDuration(encoded.encodeMs)} (
              {formatPerSecond(encoded.tokensPerSecond, 'tokens')}) · {encoded.attention} attention · {encoded.blocks}{' '}
              {encoded.blocks === 1 ? 'block' : 'blocks'} of {formatCount(encoded.blockSize)} · {encoded.hosts}{' '}
              {encoded.hosts === 1 ? 'host' : 'hosts'} · KV {formatBytes(kvBytes)}
              {encoded.fullAttentionPairs > 0 &&
                ` · ${Math.round((encoded.attentionPairs / encoded.fullAttentionPairs) * 100)}% of full attention's work`}
            </p>
          )}
          {!encoding && !isEncoded && model && !documentError && (
            <div className="row">
              <button
                type="button"
                className="button primary"
                onClick={onEncode}
                disabled={phase !== 'ready' || !!tooLong || tokens.status === 'counting'}
                data-testid="encode"
              >
                Read document
              </button>
              {!tooLong && <span className="hint">Or just ask: the first question reads it.</span>}
            </div>
          )}
          {state.notice && phase === 'ready' && !isEncoded && <p className="notice info small">{state.notice}</p>}
        </div>
      )}
      {doc && children}

      {documentError && <ErrorNotice error={documentError} onRetry={onEncode} onDismiss={onDismissError} />}
      {fileError && <ErrorNotice error={fileError} onDismiss={() => setFileError(undefined)} />}

      <div
        className={`drop-zone${dragging ? ' dragging' : ''}${doc ? ' compact' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="document-drop"
      >
        <p>
          {opening
            ? `Opening ${opening}…`
            : doc
              ? 'Drop another file to replace it, or'
              : 'Drop a .txt, .md, .html or .pdf file here, or'}
        </p>
        <button type="button" className="button small" onClick={() => fileInput.current?.click()} disabled={!!opening}>
          Choose file…
        </button>
        <input
          ref={fileInput}
          type="file"
          className="visually-hidden"
          tabIndex={-1}
          aria-label="Document file"
          accept={documentAccept}
          data-testid="document-file"
          onChange={(e) => {
            void open(e.target.files?.[0]);
            e.target.value = '';
          }}
        />
        <button type="button" className="button small quiet" aria-expanded={pasteOpen} onClick={() => setPasteOpen(!pasteOpen)}>
          {pasteOpen ? 'Hide paste box' : 'Paste text'}
        </button>
      </div>
      {pasteOpen && (
        <div className="paste-box">
          <label htmlFor={`${ids}-paste`}>Paste the document's text</label>
          <textarea
            id={`${ids}-paste`}
            className="input"
            rows={5}
            value={pasted}
            onChange={(e) => setPasted(e.target.value)}
            data-testid="paste-text"
          />
          <div className="row">
            <button type="button" className="button primary small" onClick={usePasted} disabled={!pasted.trim()} data-testid="use-pasted">
              Use pasted text
            </button>
            <span className="hint">{pasted ? `${formatCount(pasted.length)} characters` : ''}</span>
          </div>
        </div>
      )}
    </section>
  );
}

function TokenMeter({ used, total, window, budget }: { used: number; total: number; window: number; budget?: number }) {
  const over = budget !== undefined && used > budget;
  const percent = Math.min(100, (used / window) * 100);
  return (
    <div className="token-meter" data-testid="token-count">
      <p>
        <strong>{formatCount(used)}</strong> tokens {used !== total && <span className="hint">(of {formatCount(total)}) </span>}
        of a {formatTokensShort(window)} context window
      </p>
      <div
        className={`meter${over ? ' over' : ''}`}
        role="meter"
        aria-label="Document tokens against the context window"
        aria-valuemin={0}
        aria-valuemax={window}
        aria-valuenow={Math.min(used, window)}
      >
        <div className="meter-fill" style={{ width: `${percent}%` }} />
        {budget !== undefined && <div className="meter-mark" style={{ left: `${(budget / window) * 100}%` }} />}
      </div>
    </div>
  );
}
