// Star Reader as a library: the <StarReader> component, the headless hook and the session behind both.
import './styles.css';

export { StarReader, toModelChoice, type StarReaderProps } from './StarReader.tsx';
export { useStarReader, type StarReaderController, type UseStarReaderOptions } from './useStarReader.ts';
export {
  ReaderSession,
  documentText,
  initialState,
  type ChatMessage,
  type DocumentInput,
  type EngineSettings,
  type Phase,
  type Recovery,
  type ReaderFactory,
  type SessionDocument,
  type SessionState,
  type TokenCount,
} from './session.ts';
export { demoSource, hubBase, hubSource, parseHubRepo, recommendedModels, type ModelChoice, type RecommendedModel } from './models.ts';
export { askOptions, defaultSettings, engineSettings, type Settings } from './settings.ts';
export type { ErrorKind, UiError } from './errors.ts';
export { CitedDocument } from './components/CitedDocument.tsx';
export { Sources } from './components/Sources.tsx';
export { formatShare, passageSnippet, selectedCitations, type CitationSelection } from './citations.ts';
export type { LoadingProgress, RateProgress } from './progress.ts';
export type * from '../star/reader-api.ts';
