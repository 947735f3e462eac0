// The models this browser keeps for offline use: what they are, how much space they take, and a way
// to remove each one.
import { useCallback, useEffect, useState } from 'react';
import { clearCachedModel, listCachedModels, type CachedModel } from '../../star/page-support.ts';
import { formatBytes } from '../format.ts';
import { urlModelLabel } from '../models.ts';

export interface CachedModelList {
  /** Undefined until the Cache API answered. */
  models: CachedModel[] | undefined;
  refresh: () => void;
}

/** What this browser holds, read once and again after each change. */
export function useCachedModels(): CachedModelList {
  const [models, setModels] = useState<CachedModel[] | undefined>();
  const refresh = useCallback(() => {
    listCachedModels()
      .then(setModels)
      .catch(() => setModels([]));
  }, []);
  useEffect(refresh, [refresh]);
  return { models, refresh };
}

export function CachedModels({ cached: { models, refresh } }: { cached: CachedModelList }) {
  if (!models) return null;
  const total = models.reduce((sum, m) => sum + m.bytes, 0);
  return (
    <details className="cached-models" data-testid="cached-models">
      <summary>
        Downloaded models: {models.length === 0 ? 'none' : `${models.length}, ${formatBytes(total)}`}
      </summary>
      {models.length === 0 ? (
        <p className="hint">Models loaded from a URL are kept here so the next visit works offline.</p>
      ) : (
        <ul>
          {models.map((m) => {
            const label = urlModelLabel(m.base, document.baseURI);
            return (
              <li key={m.base} data-testid="cached-model">
                <span className="cached-name">{label}</span>
                <span className="cached-meta" title={m.files.join(', ')}>
                  {label !== m.base && (
                    <span className="cached-url" title={m.base}>
                      {m.base}
                    </span>
                  )}
                  {m.files.length} {m.files.length === 1 ? 'file' : 'files'} · {formatBytes(m.bytes)}
                  {m.partialFiles.length > 0 && ` · ${m.partialFiles.join(', ')} partly downloaded (loading the model continues it)`}
                </span>
                <button
                  type="button"
                  className="button small"
                  aria-label={`Remove ${m.base} from this browser`}
                  onClick={() => void clearCachedModel(m.base).then(refresh)}
                >
                  Remove
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </details>
  );
}
