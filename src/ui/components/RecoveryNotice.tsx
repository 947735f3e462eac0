import type { Recovery } from '../session.ts';
import { ErrorNotice } from './ErrorNotice.tsx';

interface Props {
  recovery: Recovery;
  onReload: () => void;
  onDismiss: () => void;
}

/** After a device loss: the model reloading by itself, reloaded, or waiting for the user to reload it. */
export function RecoveryNotice({ recovery, onReload, onDismiss }: Props) {
  const { error, status } = recovery;
  if (status === 'stopped') {
    const help =
      'Reload the model to go on: your document and the chat stay. It stopped again before an answer went through, so it ' +
      'waits for you; if it keeps happening, close other GPU-heavy tabs or pick a smaller model.';
    return <ErrorNotice error={{ ...error, help }} retryLabel="Reload model" onRetry={onReload} />;
  }
  // Short: the banner sits above the reader and must not push the question box off a laptop screen.
  if (status === 'reloading') {
    return (
      <div className="notice warn" role="status" data-testid="recovery" data-kind="lost">
        <p>
          <strong>{error.title}.</strong> Reloading the model and reading the document again; your document and the chat stay.
        </p>
        {error.message && <p className="notice-message">{error.message}</p>}
      </div>
    );
  }
  return (
    <div className="notice info inline" role="status" data-testid="recovery" data-kind="lost">
      <p>
        <strong>The model was reloaded after the GPU stopped.</strong> The document was read again and the chat is kept: ask
        again to go on.
      </p>
      <button type="button" className="button small" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}
