// Saved documents: the encoded documents this browser keeps (OPFS), so a book read once reopens in
// seconds after a reload. Save the open document, reopen one (refused, with the reason, when another
// model, weight type or setting read it), delete one; the space they use, the browser's quota, and a
// request for persistent storage so the browser does not evict them.
import { useCallback, useEffect, useId, useState } from 'react';
import { canSaveDocuments, type SavedDocumentSummary, type SavingReader, type StoreUsage } from '../../star/reader-api.ts';
import { requestPersistentStorage } from '../../star/document-store.opfs.ts';
import type { SessionState } from '../session.ts';
import type { StarReaderController } from '../useStarReader.ts';
import { formatBytes } from '../format.ts';

interface SavedDocumentsProps {
  state: SessionState;
  reader: StarReaderController;
}

export function SavedDocuments({ state, reader }: SavedDocumentsProps) {
  const ids = useId();
  const engine = reader.currentReader;
  const saving = engine && canSaveDocuments(engine) ? engine : undefined;
  const [list, setList] = useState<SavedDocumentSummary[]>();
  const [usage, setUsage] = useState<StoreUsage>();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ text: string; error: boolean }>();

  const refresh = useCallback(
    (from: SavingReader) =>
      Promise.all([from.listSavedDocuments(), from.savedDocumentsUsage()]).then(([documents, space]) => {
        setList(documents);
        setUsage(space);
      }),
    [],
  );

  useEffect(() => {
    if (saving) refresh(saving).catch((error: unknown) => setMessage({ text: errorText(error), error: true }));
  }, [saving, refresh]);

  if (!saving) return null;

  /** Runs one action, then shows its outcome and the list as it now is. */
  const act = async (work: () => Promise<string | undefined>) => {
    setBusy(true);
    setMessage(undefined);
    try {
      const done = await work();
      if (done) setMessage({ text: done, error: false });
    } catch (error) {
      setMessage({ text: errorText(error), error: true });
    } finally {
      setBusy(false);
      await refresh(saving).catch(() => undefined);
    }
  };

  const idle = state.phase === 'ready' && !busy;
  const encoded = !!state.document && state.encoded?.version === state.document.version;
  const save = () => act(async () => `Saved “${(await saving.saveDocument(state.document!.name)).name}”.`);
  // A failed reopen's reason lands in the session's error (the document panel shows it too); shown here below.
  const reopen = (d: SavedDocumentSummary) => act(async () => ((await reader.openSavedDocument(d.id)) ? `Reopened “${d.name}”: ask away.` : undefined));
  const remove = (d: SavedDocumentSummary) => act(async () => (await saving.deleteSavedDocument(d.id), `Deleted “${d.name || d.id}”.`));
  const persist = () => act(async () => ((await requestPersistentStorage()) ? 'This browser will keep them.' : 'The browser declined; it may remove them when space runs low.'));

  return (
    <section className="panel saved-documents" aria-labelledby={`${ids}-title`} data-testid="saved-documents">
      <h2 id={`${ids}-title`} className="panel-title">
        Saved documents
      </h2>
      <p className="hint">A document read once is kept here (KV cache and all) and reopens without being read again.</p>
      <button type="button" className="button" disabled={!idle || !encoded} onClick={() => void save()} data-testid="save-document">
        Save “{state.document?.name ?? 'document'}”
      </button>
      {list && list.length === 0 && <p className="hint">None yet.</p>}
      {list && list.length > 0 && (
        <ul className="saved-list">
          {list.map((d) => (
            <li key={d.id} data-testid="saved-document" data-problem={d.problem ? 'yes' : 'no'}>
              <span className="saved-name">{d.name || 'Incomplete save'}</span>
              <span className="saved-meta">
                {d.model && `${d.model} (${d.modelType}, ${d.weightType}) · `}
                {d.tokens > 0 && `${d.tokens.toLocaleString('en')} tokens · `}
                {formatBytes(d.bytes)}
                {d.savedAt && ` · ${new Date(d.savedAt).toLocaleString()}`}
              </span>
              {d.problem && <span className="saved-problem">{d.problem}</span>}
              <span className="saved-actions">
                <button
                  type="button"
                  className="button small"
                  disabled={!idle || !!d.problem}
                  aria-label={`Reopen ${d.name}`}
                  onClick={() => void reopen(d)}
                >
                  Reopen
                </button>
                <button type="button" className="button small" disabled={busy} aria-label={`Delete ${d.name || d.id}`} onClick={() => void remove(d)}>
                  Delete
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
      {usage && (
        <p className="hint" data-testid="saved-usage">
          {formatBytes(usage.usedBytes)} used
          {usage.quotaBytes !== undefined && ` · this site: ${formatBytes(usage.originUsageBytes ?? 0)} of ${formatBytes(usage.quotaBytes)} quota`}
          {usage.persisted ? ' · kept persistently' : ' · '}
          {!usage.persisted && (
            <button type="button" className="button small link" disabled={busy} onClick={() => void persist()}>
              Ask the browser to keep them
            </button>
          )}
        </p>
      )}
      {!message && state.error?.step === 'document' && (
        <p className="notice small error" role="alert" data-testid="saved-message">
          {state.error.message}
        </p>
      )}
      {message && (
        <p className={`notice small ${message.error ? 'error' : 'info'}`} role={message.error ? 'alert' : 'status'} data-testid="saved-message">
          {message.text}
        </p>
      )}
    </section>
  );
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
