// The embeddable reader: give it a model and a document, it loads, reads and answers questions.
import { useEffect, useRef, useState } from 'react';
import type { ModelSource } from '../star/reader-api.ts';
import { formatCount, formatTokensShort } from './format.ts';
import { hubSource, parseHubRepo, urlModelLabel, type ModelChoice } from './models.ts';
import { documentText, type DocumentInput, type ReaderFactory } from './session.ts';
import { askOptions, defaultSettings, engineSettings, type Settings } from './settings.ts';
import { useStarReader } from './useStarReader.ts';
import { ChatPanel } from './components/ChatPanel.tsx';
import { ErrorNotice } from './components/ErrorNotice.tsx';
import { ProgressBar } from './components/ProgressBar.tsx';
import { loadLabel } from './progress.ts';
import { CitedDocument } from './components/CitedDocument.tsx';
import { selectedCitations, type CitationSelection } from './citations.ts';

export interface StarReaderProps {
  /** A Hub repo id ("Qwen/Qwen2.5-0.5B-Instruct"), a URL base of Hub-layout files, a ModelSource or a ModelChoice. */
  model: string | ModelSource | ModelChoice;
  /** The text to ask about, or a named document. */
  document: string | DocumentInput;
  settings?: Partial<Settings>;
  /** Heading of the component. */
  title?: string;
  className?: string;
  /** The engine factory; defaults to the engine. */
  createReader?: ReaderFactory;
}

export function toModelChoice(model: StarReaderProps['model']): ModelChoice {
  if (typeof model === 'string') {
    const repo = /^(https?:|\/|\.)/.test(model) ? undefined : parseHubRepo(model);
    if (repo) return hubSource(repo);
    const base = new URL(model.endsWith('/') ? model : `${model}/`, document.baseURI).href;
    return { key: `url:${base}`, label: urlModelLabel(base, document.baseURI), source: { kind: 'url', base } };
  }
  if ('key' in model) return model;
  if (model.kind === 'url') return { key: `url:${model.base}`, label: urlModelLabel(model.base, document.baseURI), source: model };
  if (model.kind === 'files') return { key: `files:${[...model.files.keys()].join('|')}`, label: 'Local model', source: model };
  return { key: `dir:${model.path}`, label: model.path, source: model };
}

export function StarReader({ model, document: doc, settings: overrides, title = 'Ask the document', className, createReader }: StarReaderProps) {
  const { state, reader } = useStarReader({ createReader });
  const settings = { ...defaultSettings, ...overrides };
  const source = toModelChoice(model);
  const engineKey = JSON.stringify(engineSettings(settings));
  const input: DocumentInput = typeof doc === 'string' ? { name: 'Document', kind: 'txt', text: doc } : doc;
  // Content, not identity: a host page that re-renders with an equal document must not restart the reading.
  const documentKey = JSON.stringify([input.name, input.kind, input.pages, input.text]);
  const latest = useRef({ source, engineKey, input });
  useEffect(() => {
    latest.current = { source, engineKey, input };
  });

  useEffect(() => {
    void reader.loadModel(latest.current.source, JSON.parse(latest.current.engineKey));
    return () => reader.cancel();
  }, [reader, source.key, engineKey]);

  useEffect(() => reader.setDocument(latest.current.input), [reader, documentKey]);

  // Read the document as soon as the model is there, once per document version (a failure is not retried in a loop).
  const tried = useRef(0);
  const version = state.document?.version ?? 0;
  const fits = state.tokens.status === 'counted' && state.tokens.used <= (reader.documentBudget(settings.maxTokens) ?? Infinity);
  useEffect(() => {
    if (state.phase !== 'ready' || !fits || tried.current === version) return;
    tried.current = version;
    void reader.encodeDocument();
  }, [reader, state.phase, fits, version]);

  // Sources: an answer's chips show their passage in the document below the chat.
  const [citation, setCitation] = useState<CitationSelection>();
  const cited = selectedCitations(state.messages, citation);
  const text = state.document ? documentText(state.document) : '';

  const budget = reader.documentBudget(settings.maxTokens);
  const tooLong = state.tokens.status === 'counted' && budget !== undefined && state.tokens.used > budget;

  return (
    <div className={`sr-root star-reader${className ? ` ${className}` : ''}`} data-testid="star-reader" data-phase={state.phase}>
      <div className="star-reader-status">
        <p className="status-line" data-testid="status">
          {state.recovery?.status === 'reloading'
            ? `The GPU stopped: reloading ${source.label}…`
            : statusText(state.phase, source.label)}
          {state.tokens.status === 'counted' && state.model && (
            <span className="hint">
              {' '}
              · {formatCount(state.tokens.used)} of {formatTokensShort(state.model.contextWindow)} tokens
            </span>
          )}
        </p>
        {state.phase === 'loading-model' && state.loadProgress && (
          <ProgressBar label={loadLabel(state.loadProgress)} unit="bytes" progress={state.loadProgress} onCancel={() => reader.cancel()} />
        )}
        {state.phase === 'encoding' && state.encodeProgress && (
          <ProgressBar label="Reading the document" unit="tokens" progress={state.encodeProgress} onCancel={() => reader.cancel()} />
        )}
        {tooLong && (
          <div className="notice warn">
            <p>The document is longer than the model’s context window.</p>
            <button type="button" className="button small" onClick={() => reader.truncateDocument(budget)}>
              Read the first {formatCount(budget ?? 0)} tokens
            </button>
          </div>
        )}
        {state.error && state.error.step !== 'answer' && (
          <ErrorNotice
            error={state.error}
            retryLabel={state.error.kind === 'lost' ? 'Reload' : 'Retry'}
            onRetry={() => void (state.error?.kind === 'lost' ? reader.recover() : reader.reload(engineSettings(settings)))}
            onDismiss={() => reader.dismissError()}
          />
        )}
      </div>
      <ChatPanel
        title={title}
        state={state}
        onAsk={(q) => void reader.ask(q, askOptions(settings))}
        onStop={() => reader.cancel()}
        onClear={() => void reader.clearChat()}
        onRegenerate={() => void reader.regenerate(askOptions(settings))}
        onEdit={(q) => void reader.editLastQuestion(q, askOptions(settings))}
        onUnwait={() => reader.unwait()}
        citations={{ text, selection: cited && { message: cited.message, range: cited.range }, onSelect: setCitation }}
      />
      {cited && (
        <CitedDocument text={text} citations={cited.citations} highlight={cited.range} onSelect={(range) => setCitation({ message: cited.message, range })} />
      )}
    </div>
  );
}

function statusText(phase: string, label: string): string {
  switch (phase) {
    case 'idle':
      return 'No model loaded.';
    case 'loading-model':
      return `Loading ${label}…`;
    case 'encoding':
      return `Reading the document with ${label}…`;
    case 'answering':
      return `${label} is answering…`;
    case 'lost':
      return 'The GPU was lost.';
    default:
      return `${label} is ready.`;
  }
}
