import { useEffect, useId, useRef, useState, type DragEvent } from 'react';
import {
  demoModelLabel,
  demoModelWarning,
  demoSource,
  hubBase,
  hubSource,
  parseHubRepo,
  recommendedModels,
  type ModelChoice,
} from '../models.ts';
import { folderFromDrop, folderFromFileList, missingModelFiles, type ModelFolder } from '../files.ts';
import { formatBytes, formatParams, formatTokensShort } from '../format.ts';
import type { SessionState } from '../session.ts';
import { ProgressBar } from './ProgressBar.tsx';
import { loadLabel } from '../progress.ts';
import { ErrorNotice } from './ErrorNotice.tsx';
import { CachedModels, useCachedModels, type CachedModelList } from './CachedModels.tsx';

interface Props {
  state: SessionState;
  onLoad: (source: ModelChoice) => void;
  onCancel: () => void;
  onRetry: () => void;
  onDismissError: () => void;
}

type Choice = { kind: 'demo' } | { kind: 'recommended'; repo: string } | { kind: 'hub' } | { kind: 'folder' };

const choiceKey = (c: Choice) => (c.kind === 'recommended' ? `rec:${c.repo}` : c.kind);

export function ModelPanel({ state, onLoad, onCancel, onRetry, onDismissError }: Props) {
  const { phase, model, source, loadProgress, error } = state;
  const loading = phase === 'loading-model';
  const loaded = !!model && phase !== 'lost';
  const [choosing, setChoosing] = useState(false);
  const [choice, setChoice] = useState<Choice>({ kind: 'demo' });
  const [hubInput, setHubInput] = useState('');
  const [folder, setFolder] = useState<ModelFolder>();
  const [dragging, setDragging] = useState(false);
  const folderInput = useRef<HTMLInputElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const ids = useId();
  const modelError = error?.step === 'model' && error.kind !== 'lost' ? error : undefined;
  const cached = useCachedModels();
  // A load just stored (or continued) a download: read the list again.
  const refreshCached = cached.refresh;
  useEffect(() => {
    if (!loading) refreshCached();
  }, [loading, refreshCached]);

  const hubRepo = parseHubRepo(hubInput);
  const folderMissing = folder ? missingModelFiles(folder.files) : [];

  const selected = ((): ModelChoice | undefined => {
    switch (choice.kind) {
      case 'demo':
        return demoSource(document.baseURI);
      case 'recommended':
        return hubSource(choice.repo);
      case 'hub':
        return hubRepo ? hubSource(hubRepo) : undefined;
      case 'folder':
        return folder && folderMissing.length === 0
          ? { key: `folder:${folder.name}`, label: folder.name, source: { kind: 'files', files: folder.files } }
          : undefined;
    }
  })();

  const pickFolder = (picked: ModelFolder) => {
    setFolder(picked);
    setChoice({ kind: 'folder' });
  };

  const onDrop = async (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    pickFolder(await folderFromDrop(event.dataTransfer));
  };

  const load = () => {
    if (!selected) return;
    setChoosing(false);
    onLoad(selected);
  };

  // The chooser folds away when loading starts: bring the panel's top (progress, then the summary) into
  // view and give keyboard focus a place to land instead of the vanished Load button.
  useEffect(() => {
    if (!loading) return;
    heading.current?.scrollIntoView({ block: 'nearest' });
    heading.current?.focus({ preventScroll: true });
  }, [loading]);

  const showChooser = !loading && (!loaded || choosing);
  const radioName = `${ids}-model`;

  return (
    <section className="panel" aria-labelledby={`${ids}-title`} data-testid="model-panel">
      <h2 id={`${ids}-title`} className="panel-title" ref={heading} tabIndex={-1}>
        Model
      </h2>

      {loaded && model && (
        <div className="loaded-model" data-testid="model-loaded">
          <p className="loaded-name">
            <span className="dot good" aria-hidden="true" /> {source?.label ?? model.name}
          </p>
          <dl className="facts compact">
            <div>
              <dt>Parameters</dt>
              <dd>{formatParams(model.parameters)}</dd>
            </div>
            <div>
              <dt>Context</dt>
              <dd data-testid="context-window">{formatTokensShort(model.contextWindow)} tokens</dd>
            </div>
            <div>
              <dt>Weights</dt>
              <dd>{formatBytes(model.weightBytes)}</dd>
            </div>
            <div>
              <dt>Type</dt>
              <dd>{model.modelType}</dd>
            </div>
          </dl>
          {source?.key === 'demo' && <p className="notice warn small">{demoModelWarning}</p>}
          {choosing ? (
            <button type="button" className="button small" onClick={() => setChoosing(false)}>
              Keep this model
            </button>
          ) : (
            <button type="button" className="button small" onClick={() => setChoosing(true)}>
              Change model
            </button>
          )}
        </div>
      )}

      {loading && loadProgress && (
        <>
          <p className="status-line">Loading {source?.label}…</p>
          <ProgressBar label={loadLabel(loadProgress)} unit="bytes" progress={loadProgress} onCancel={onCancel} testId="model-progress" />
        </>
      )}

      {modelError && !loading && (
        <ErrorNotice error={modelError} onRetry={onRetry} onDismiss={onDismissError} />
      )}
      {state.notice && phase === 'idle' && <p className="notice info small">{state.notice}</p>}

      {showChooser && (
        <div className="model-chooser">
          <fieldset className="model-list">
            <legend className="visually-hidden">Choose a model</legend>
            <label className={`model-option demo${choiceKey(choice) === 'demo' ? ' selected' : ''}`}>
              <input type="radio" name={radioName} checked={choice.kind === 'demo'} onChange={() => setChoice({ kind: 'demo' })} />
              <span className="model-option-main">
                <span className="model-option-name">
                  {demoModelLabel} <span className="badge warn">demo</span>
                </span>
                <span className="model-option-note">{demoModelWarning}</span>
              </span>
            </label>
            {recommendedModels.map((m) => {
              const key = `rec:${m.repo}`;
              return (
                <label key={m.repo} className={`model-option inline${choiceKey(choice) === key ? ' selected' : ''}`} title={m.note}>
                  <input
                    type="radio"
                    name={radioName}
                    checked={choiceKey(choice) === key}
                    onChange={() => setChoice({ kind: 'recommended', repo: m.repo })}
                  />
                  <span className="model-option-main">
                    <span className="model-option-name">{m.name}</span>
                    <span className="model-option-meta">
                      ≈{formatBytes(m.downloadBytes)} · {formatTokensShort(m.contextWindow)} context
                    </span>
                  </span>
                </label>
              );
            })}
            <div className={`model-option other${choice.kind === 'hub' ? ' selected' : ''}`}>
              <input
                type="radio"
                id={`${ids}-hub-radio`}
                name={radioName}
                checked={choice.kind === 'hub'}
                onChange={() => setChoice({ kind: 'hub' })}
              />
              <span className="model-option-main">
                <label htmlFor={`${ids}-hub-radio`} className="model-option-name">
                  Any Hub repository
                </label>
                <label htmlFor={`${ids}-hub`} className="visually-hidden">
                  Hub repo id
                </label>
                <input
                  id={`${ids}-hub`}
                  className="input"
                  type="text"
                  placeholder="owner/name"
                  spellCheck={false}
                  autoComplete="off"
                  value={hubInput}
                  // Typing picks this option; focus alone does not, or tabbing past it would switch models.
                  onChange={(e) => {
                    setHubInput(e.target.value);
                    setChoice({ kind: 'hub' });
                  }}
                  aria-describedby={`${ids}-hub-url`}
                  aria-invalid={hubInput.trim() !== '' && !hubRepo}
                  data-testid="hub-repo"
                />
                <span id={`${ids}-hub-url`} className="model-option-note url" data-testid="hub-url">
                  {hubInput.trim() === ''
                    ? 'Files come from …/resolve/main/ of the repo.'
                    : hubRepo
                      ? hubBase(hubRepo)
                      : 'Not a repo id: write owner/name.'}
                </span>
              </span>
            </div>
            <div
              className={`model-option other${choice.kind === 'folder' ? ' selected' : ''}${dragging ? ' dragging' : ''}`}
              onDragOver={(e) => {
                e.preventDefault();
                setDragging(true);
              }}
              onDragLeave={() => setDragging(false)}
              onDrop={(e) => void onDrop(e)}
              data-testid="folder-drop"
            >
              <input
                type="radio"
                id={`${ids}-folder-radio`}
                name={radioName}
                checked={choice.kind === 'folder'}
                onChange={() => setChoice({ kind: 'folder' })}
              />
              <span className="model-option-main">
                <label htmlFor={`${ids}-folder-radio`} className="model-option-name">
                  Local model folder
                </label>
                <span className="row">
                  <button type="button" className="button small" onClick={() => folderInput.current?.click()}>
                    Choose folder…
                  </button>
                  <span className="model-option-note">or drop it here</span>
                </span>
                <input
                  ref={folderInput}
                  type="file"
                  className="visually-hidden"
                  tabIndex={-1}
                  aria-label="Model folder"
                  multiple
                  {...{ webkitdirectory: '' }}
                  onChange={(e) => e.target.files && e.target.files.length > 0 && pickFolder(folderFromFileList(e.target.files))}
                />
                {folder && (
                  <span className={`model-option-note${folderMissing.length ? ' bad' : ''}`} data-testid="folder-summary">
                    {folder.name}: {folder.files.size} files,{' '}
                    {formatBytes([...folder.files.values()].reduce((sum, f) => sum + f.size, 0))}
                    {folderMissing.length > 0 &&
                      ` — missing ${folderMissing.join(', ')}. Pick the folder that holds config.json, tokenizer.json and the *.safetensors.`}
                  </span>
                )}
              </span>
            </div>
          </fieldset>
          {selected && <SelectedModelFacts source={selected} cached={cached} />}
          <p className="hint">
            Sizes are approximate (bf16 downloads: parameters × 2 bytes; 4-bit builds: their files); context windows from each config.json.
          </p>
          <CachedModels cached={cached} />
          <div className="row load-bar">
            <button type="button" className="button primary" disabled={!selected} onClick={load} data-testid="load-model">
              Load {selected ? selected.label : 'model'}
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

/**
 * Before anything downloads: how big the selected model is, how much GPU memory its weights take
 * (a bf16 checkpoint is kept as f32: twice the download; a 4-bit build's layers stay 4-bit) and
 * whether this browser already holds it.
 */
function SelectedModelFacts({ source, cached }: { source: ModelChoice; cached: CachedModelList }) {
  const where = source.source;
  const base = where.kind === 'url' ? where.base : undefined;
  const held = base ? cached.models?.find((m) => m.base === base) : undefined;
  const state =
    where.kind !== 'url'
      ? 'On this computer: nothing to download.'
      : !cached.models
        ? undefined
        : !held
          ? 'Not downloaded yet.'
          : held.partialFiles.length > 0
            ? `Partly downloaded (${formatBytes(held.bytes)}): loading continues where it stopped.`
            : `Downloaded in this browser (${formatBytes(held.bytes)}): loads offline.`;
  return (
    <p className="model-facts hint" data-testid="selected-model-facts">
      {source.downloadBytes !== undefined && (
        <>
          Download ≈{formatBytes(source.downloadBytes)} ·{' '}
          {source.weights === 'q4'
            ? 'GPU memory: its layers stay 4-bit'
            : `GPU memory ≈${formatBytes(source.downloadBytes * 2)} for the weights (f32)`}
          , plus the document&rsquo;s KV cache (f16: 2 bytes a key or value element).{' '}
        </>
      )}
      {state}
    </p>
  );
}
