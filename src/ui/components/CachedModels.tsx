// The models this browser keeps for offline use: what they are, how much space they take, and a way
// to remove each one.
import { useCallback, useEffect, useState } from 'react';
import { clearCachedModel, listCachedModels, type CachedModel } from '../../star/reader.ts';
import { formatBytes } from '../format.ts';

export function CachedModels() {
  const [models, setModels] = useState<CachedModel[] | undefined>();
  const refresh = useCallback(() => {
    listCachedModels()
      .then(setModels)
      .catch(() => setModels([]));
  }, []);
  useEffect(refresh, [refresh]);

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
          {models.map((m) => (
            <li key={m.base} data-testid="cached-model">
              <span className="cached-name" title={m.files.join(', ')}>
                {m.base}
              </span>
              <span className="hint">
                {m.files.length} files · {formatBytes(m.bytes)}
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
          ))}
        </ul>
      )}
    </details>
  );
}
