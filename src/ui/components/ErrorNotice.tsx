import type { UiError } from '../errors.ts';

interface Props {
  error: UiError;
  onRetry?: () => void;
  retryLabel?: string;
  onDismiss?: () => void;
}

/** An error as the user can act on it: what happened, the engine's own words (numbers), what to do. */
export function ErrorNotice({ error, onRetry, retryLabel = 'Retry', onDismiss }: Props) {
  return (
    <div className="notice error" role="alert" data-testid="error" data-kind={error.kind}>
      <p className="notice-title">{error.title}</p>
      {error.message && <p className="notice-message">{error.message}</p>}
      {error.help && <p className="notice-help">{error.help}</p>}
      {(onRetry || onDismiss) && (
        <div className="notice-actions">
          {onRetry && error.retry && (
            <button type="button" className="button primary small" onClick={onRetry}>
              {retryLabel}
            </button>
          )}
          {onDismiss && (
            <button type="button" className="button small" onClick={onDismiss}>
              Dismiss
            </button>
          )}
        </div>
      )}
    </div>
  );
}
