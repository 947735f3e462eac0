import { useCallback, useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { copyText } from '../clipboard.ts';
import { formatBytes, formatCount, formatDuration, formatPerSecond } from '../format.ts';
import { demoModelAnswers } from '../models.ts';
import type { ChatMessage, SessionState } from '../session.ts';
import { Markdown } from './Markdown.tsx';
import { Sources } from './Sources.tsx';
import type { CitationSelection, TextRange } from '../citations.ts';

interface Props {
  state: SessionState;
  onAsk: (question: string) => void;
  onStop: () => void;
  onClear: () => void;
  /** A new answer to the last question. */
  onRegenerate: () => void;
  /** The last question, edited, asked again. */
  onEdit: (question: string) => void;
  /** The question waiting for the document's reading, back to the box (it comes back as `state.draft`). */
  onUnwait: () => void;
  /** Shown as the panel's heading; the embeddable component uses its own. */
  title?: string;
  /** Answers' sources: the document text they index into, the selected one, and how to select one. */
  citations?: { text: string; selection?: CitationSelection; onSelect: (selection: CitationSelection) => void };
}

const stoppedBy: Record<string, string> = {
  eos: 'end of answer',
  'stop-string': 'stop string',
  'max-tokens': 'max tokens reached',
  abort: 'stopped',
};

/**
 * Why the question box is disabled, in words; undefined when asking works. While the model loads or the
 * document is read on its own it works: one question waits for them (ReaderSession's `waiting`).
 */
export function askBlocker(state: SessionState): string | undefined {
  if (state.recovery?.status === 'reloading') return 'The GPU stopped: the model is reloading…';
  if (state.phase === 'lost') return 'The GPU was lost: reload the model to go on.';
  const loading = state.phase === 'loading-model';
  if (!state.model && !loading) return 'Load a model first.';
  if (!state.document) return loading ? 'The model is loading; add a document to ask about.' : 'Add a document first.';
  if (state.waiting !== undefined) return 'Your question is asked as soon as the document is read.';
  if (state.phase === 'encoding' && !state.readingAlone) return 'Reading the document…';
  return undefined;
}

/** While a question asked now would wait (the model loads, or the document is read on its own): what for, in words. */
function waitingFor(state: SessionState): string | undefined {
  if (state.phase === 'loading-model') return 'The model is loading: a question sent now is asked once it is loaded and the document read.';
  if (state.phase === 'encoding' && state.readingAlone) return 'Reading the document… a question sent now is asked as soon as it is read.';
  return undefined;
}

export function ChatPanel({ state, onAsk, onStop, onClear, onRegenerate, onEdit, onUnwait, title = 'Chat', citations }: Props) {
  const ids = useId();
  const [question, setQuestion] = useState('');
  // A waiting question given back (state.draft) goes into the box, before what was typed since.
  const [draft, setDraft] = useState(state.draft);
  if (state.draft !== draft) {
    setDraft(state.draft);
    const back = state.draft?.text;
    if (back !== undefined) setQuestion((typed) => (typed.trim() ? `${back}\n${typed}` : back));
  }
  const log = useRef<HTMLOListElement>(null);
  const { messages, phase } = state;
  const answering = phase === 'answering';
  const blocker = askBlocker(state);
  const last = messages.at(-1);
  // Regenerate and edit apply to the last turn, once nothing runs.
  const canRedo = !blocker && phase === 'ready';
  const waitsFor = waitingFor(state);
  const lastQuestionId = messages.findLast((m) => m.role === 'user')?.id;
  const lastAnswerId = last?.role === 'assistant' ? last.id : undefined;

  // Follow the streaming answer (and keep the end in view when the log shrinks, e.g. under a banner)
  // unless the reader scrolled up to read something earlier; a new question always goes to the end.
  const pinned = useRef(true);
  const follow = useCallback(() => {
    const el = log.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, []);
  const { waiting } = state;
  useEffect(() => {
    if (last?.role === 'user' || waiting !== undefined) pinned.current = true;
    follow();
  }, [follow, last?.role, last?.text, last?.status, messages.length, waiting]);
  useEffect(() => {
    const el = log.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(follow);
    observer.observe(el);
    return () => observer.disconnect();
  }, [follow]);

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (blocker || answering || !question.trim()) return;
    // While the model loads or the document is read on its own, the session keeps the question until it is read.
    onAsk(question);
    setQuestion('');
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  };

  return (
    <section className="panel chat" aria-labelledby={`${ids}-title`} data-testid="chat-panel">
      <div className="panel-head">
        <h2 id={`${ids}-title`} className="panel-title">
          {title}
        </h2>
        {messages.length > 0 && (
          <button type="button" className="button small quiet" onClick={onClear} data-testid="clear-chat">
            Clear chat
          </button>
        )}
      </div>
      {state.source?.key === 'demo' && state.model && (
        <p className="notice warn small demo-note" data-testid="demo-note">
          {demoModelAnswers}
        </p>
      )}
      <ol
        className="chat-log"
        ref={log}
        aria-label="Questions and answers"
        aria-live="polite"
        aria-busy={answering}
        data-testid="chat-log"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
        }}
      >
        {messages.length === 0 && waiting === undefined && (
          <li className="chat-empty">
            {blocker ? (
              <ol className="steps" aria-label="Getting started">
                <Step done={!!state.model}>Load a model</Step>
                <Step done={!!state.document}>Add a document</Step>
                <Step done={false}>Ask about it</Step>
              </ol>
            ) : (
              'Ask anything about the document. It is read once; every follow-up question reuses that work.'
            )}
          </li>
        )}
        {messages.map((m) => (
          <Message
            key={m.id}
            message={m}
            onRegenerate={canRedo && m.id === lastAnswerId ? onRegenerate : undefined}
            onEdit={canRedo && m.id === lastQuestionId ? onEdit : undefined}
            sources={
              citations && {
                text: citations.text,
                selected: citations.selection?.message === m.id ? citations.selection.range : undefined,
                onSelect: (range) => citations.onSelect({ message: m.id, range }),
              }
            }
          />
        ))}
        {waiting !== undefined && (
          <li className="message user waiting" data-testid="message-waiting">
            <p className="message-text">{waiting}</p>
            <p className="message-note">Asked as soon as the document is read{phase === 'loading-model' ? ', once the model is loaded' : ''}.</p>
            <button type="button" className="button small quiet message-action" onClick={onUnwait} data-testid="unwait">
              Don’t ask
            </button>
          </li>
        )}
      </ol>
      {state.chatNotice && (
        <p className="notice info small" data-testid="chat-notice">
          {state.chatNotice}
        </p>
      )}
      <form className="ask" onSubmit={submit}>
        <label htmlFor={`${ids}-question`} className="visually-hidden">
          Question
        </label>
        <textarea
          id={`${ids}-question`}
          className="input"
          rows={2}
          placeholder="Ask about the document…"
          title="Enter sends; Shift+Enter starts a new line"
          value={question}
          onChange={(e) => setQuestion(e.target.value)}
          onKeyDown={onKeyDown}
          aria-describedby={blocker || waitsFor ? `${ids}-blocker` : undefined}
          data-testid="question"
        />
        {answering ? (
          <button type="button" className="button danger" onClick={onStop} data-testid="stop">
            Stop
          </button>
        ) : (
          <button type="submit" className="button primary" disabled={!!blocker || !question.trim()} data-testid="ask">
            Ask
          </button>
        )}
      </form>
      {blocker && (
        <p id={`${ids}-blocker`} className="hint ask-blocker" data-testid="ask-blocker">
          {blocker}
        </p>
      )}
      {!blocker && waitsFor && (
        <p id={`${ids}-blocker`} className="hint ask-blocker" data-testid="ask-waits">
          {waitsFor}
        </p>
      )}
    </section>
  );
}

function Step({ done, children }: { done: boolean; children: string }) {
  return (
    <li className={done ? 'done' : undefined}>
      <span className="step-mark" aria-hidden="true" />
      {children}
      {done && <span className="visually-hidden"> (done)</span>}
    </li>
  );
}

interface MessageProps {
  message: ChatMessage;
  onRegenerate?: () => void;
  onEdit?: (question: string) => void;
  sources?: { text: string; selected?: TextRange; onSelect: (range: TextRange) => void };
}

function Message({ message, onRegenerate, onEdit, sources }: MessageProps) {
  const [copied, setCopied] = useState(false);
  const [editing, setEditing] = useState<string>();
  const { role, text, status, stats, kvBytes, error } = message;
  if (role === 'user') {
    if (editing !== undefined && onEdit) {
      const send = (event: FormEvent) => {
        event.preventDefault();
        if (!editing.trim()) return;
        setEditing(undefined);
        onEdit(editing);
      };
      return (
        <li className="message user editing" data-testid="message-user">
          <form className="edit-question" onSubmit={send}>
            <label className="visually-hidden" htmlFor={`edit-${message.id}`}>
              Edit the question
            </label>
            <textarea id={`edit-${message.id}`} className="input" rows={2} value={editing} onChange={(e) => setEditing(e.target.value)} data-testid="edit-question" />
            <div className="row">
              <button type="submit" className="button small primary" disabled={!editing.trim()} data-testid="send-edit">
                Send
              </button>
              <button type="button" className="button small quiet" onClick={() => setEditing(undefined)}>
                Cancel
              </button>
            </div>
          </form>
        </li>
      );
    }
    return (
      <li className="message user" data-testid="message-user">
        <p className="message-text">{text}</p>
        {onEdit && (
          <button type="button" className="button small quiet message-action" onClick={() => setEditing(text)} data-testid="edit">
            Edit
          </button>
        )}
      </li>
    );
  }
  const copy = async () => {
    await copyText(text);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <li className={`message assistant ${status}`} data-testid="message-answer" data-status={status}>
      <div className="message-text markdown" data-testid="answer-text">
        <Markdown text={text} />
        {status === 'streaming' && !text && <span className="hint">Thinking…</span>}
      </div>
      {error && (
        <p className="message-error" role="alert">
          {error.title}: {error.message} {error.help}
        </p>
      )}
      {sources && stats?.citations && <Sources citations={stats.citations} text={sources.text} selected={sources.selected} onSelect={sources.onSelect} />}
      <div className="message-foot">
        {stats && (
          <p className="message-stats" data-testid="answer-stats">
            <span title="Time to read the question and produce the first token">Query {formatDuration(stats.queryMs)}</span>
            {stats.decodeTokensPerSecond > 0 && <span>{formatPerSecond(stats.decodeTokensPerSecond, 'tokens')}</span>}
            {kvBytes !== undefined && <span title="KV cache held for the document">KV {formatBytes(kvBytes)}</span>}
            <span>
              {formatCount(stats.generatedTokens)} tokens · {stoppedBy[stats.stoppedBy] ?? stats.stoppedBy}
            </span>
          </p>
        )}
        {!stats && status === 'stopped' && <p className="message-stats">Stopped</p>}
        <span className="message-actions">
          {text && status !== 'streaming' && (
            <button type="button" className="button small quiet" onClick={() => void copy()} data-testid="copy">
              {copied ? 'Copied' : 'Copy'}
            </button>
          )}
          {onRegenerate && (
            <button type="button" className="button small quiet" onClick={onRegenerate} data-testid="regenerate">
              Regenerate
            </button>
          )}
        </span>
      </div>
    </li>
  );
}
