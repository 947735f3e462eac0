// The app: the reader (model, document, chat, settings) and the speedup demo, one session shared by both.
import { useEffect, useState, useSyncExternalStore } from 'react';
import { probeAdapter, type AdapterStatus } from './adapter.ts';
import { createEngineReader } from './load-reader.ts';
import { documentText, type ReaderFactory } from './session.ts';
import { askOptions, engineSettings, loadSettings, sameEngine, saveSettings } from './settings.ts';
import { useStarReader } from './useStarReader.ts';
import { AdapterInfo } from './components/AdapterInfo.tsx';
import { ChatPanel } from './components/ChatPanel.tsx';
import { DocumentPanel } from './components/DocumentPanel.tsx';
import { ModelPanel } from './components/ModelPanel.tsx';
import { RecoveryNotice } from './components/RecoveryNotice.tsx';
import { SettingsPanel } from './components/SettingsPanel.tsx';
import { SavedDocuments } from './components/SavedDocuments.tsx';
import { SpeedupPage } from './components/SpeedupPage.tsx';
import { SavedConversations } from './components/SavedConversations.tsx';
import { useConversationArchive } from './conversations.ts';
import { CitedDocument } from './components/CitedDocument.tsx';
import { selectedCitations, type CitationSelection } from './citations.ts';

export interface AppProps {
  /** The engine factory; defaults to the engine. */
  createReader?: ReaderFactory;
}

type Route = 'reader' | 'speedup';

const routes: Array<{ route: Route; hash: string; label: string }> = [
  { route: 'reader', hash: '#/', label: 'Reader' },
  { route: 'speedup', hash: '#/speedup', label: 'Speedup demo' },
];

function subscribeHash(listener: () => void) {
  window.addEventListener('hashchange', listener);
  return () => window.removeEventListener('hashchange', listener);
}

/** localStorage, or undefined where a page may not use it (sandboxed frames throw on access). */
function browserStorage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

const currentRoute = (): Route => (window.location.hash === '#/speedup' ? 'speedup' : 'reader');

export function App({ createReader = createEngineReader }: AppProps) {
  const { state, reader } = useStarReader({ createReader });
  const [settings, setSettings] = useState(() => loadSettings(browserStorage()));
  const [adapter, setAdapter] = useState<AdapterStatus>({ status: 'probing' });
  const route = useSyncExternalStore(subscribeHash, currentRoute, () => 'reader' as const);

  useEffect(() => saveSettings(browserStorage(), settings), [settings]);

  useEffect(() => {
    let live = true;
    void probeAdapter().then((status) => live && setAdapter(status));
    return () => {
      live = false;
    };
  }, []);

  const archive = useConversationArchive(state);
  const [citation, setCitation] = useState<CitationSelection>();
  const cited = selectedCitations(state.messages, citation);
  const text = state.document ? documentText(state.document) : '';
  const engine = engineSettings(settings);
  const budget = reader.documentBudget(settings.maxTokens);
  const engineChanged = !!state.model && !!state.engine && !sameEngine(state.engine, engine) && state.phase === 'ready';

  return (
    <div className="sr-root app">
      <header className="app-header">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ★
          </span>
          <div>
            <h1>Star Reader</h1>
            <p className="tagline">Ask long documents questions, on your own GPU. Nothing leaves this tab.</p>
          </div>
        </div>
        <nav className="tabs" aria-label="Pages">
          {routes.map((r) => (
            <a key={r.route} href={r.hash} className="tab" aria-current={route === r.route ? 'page' : undefined}>
              {r.label}
            </a>
          ))}
        </nav>
        <AdapterInfo status={adapter} />
      </header>

      {adapter.status === 'missing' && (
        <div className="banner error" role="alert" data-testid="no-webgpu">
          <p className="notice-title">WebGPU is not available, so models cannot run here.</p>
          <p>{adapter.message}</p>
          <p className="hint">You can still add a document; it stays here while you switch browsers or flags.</p>
        </div>
      )}
      {state.recovery && (
        <div className="banner" data-testid="device-lost" data-status={state.recovery.status}>
          <RecoveryNotice recovery={state.recovery} onReload={() => void reader.recover()} onDismiss={() => reader.dismissError()} />
        </div>
      )}

      <main className="app-main">
        {route === 'speedup' ? (
          <SpeedupPage
            state={state}
            settings={settings}
            createReader={createReader}
            onOpenReader={() => {
              window.location.hash = '#/';
            }}
          />
        ) : (
          <div className="layout">
            <div className="column side">
              <ModelPanel
                state={state}
                onLoad={(source) => void reader.loadModel(source, engine)}
                onCancel={() => reader.cancel()}
                onRetry={() => void reader.reload()}
                onDismissError={() => reader.dismissError()}
              />
              <SettingsPanel
                settings={settings}
                onChange={setSettings}
                onApplyEngine={engineChanged ? () => void reader.reload(engine) : undefined}
              />
              <SavedDocuments state={state} reader={reader} />
            </div>
            <div className="column main">
              <DocumentPanel
                state={state}
                budget={budget}
                onDocument={(doc) => reader.setDocument(doc)}
                onClear={() => reader.clearDocument()}
                onTruncate={() => reader.truncateDocument(budget)}
                onWhole={() => reader.useWholeDocument()}
                onEncode={() => void reader.encodeDocument()}
                onCancel={() => reader.cancel()}
                onDismissError={() => reader.dismissError()}
              >
                {cited && (
                  <CitedDocument
                    text={text}
                    citations={cited.citations}
                    highlight={cited.range}
                    onSelect={(range) => setCitation({ message: cited.message, range })}
                  />
                )}
              </DocumentPanel>
              <ChatPanel
                state={state}
                onAsk={(q) => void reader.ask(q, askOptions(settings))}
                onStop={() => reader.cancel()}
                onClear={() => void reader.clearChat()}
                onRegenerate={() => void reader.regenerate(askOptions(settings))}
                onEdit={(q) => void reader.editLastQuestion(q, askOptions(settings))}
                onUnwait={() => reader.unwait()}
                citations={{ text, selection: cited && { message: cited.message, range: cited.range }, onSelect: setCitation }}
              />
              <SavedConversations archive={archive} />
            </div>
          </div>
        )}
      </main>
    </div>
  );
}
