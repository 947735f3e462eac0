// The headless hook: a ReaderSession per component, its state as React state, freed on unmount.
import { useEffect, useState, useSyncExternalStore } from 'react';
import { createEngineReader } from './load-reader.ts';
import { ReaderSession, type ReaderFactory, type SessionState } from './session.ts';

export interface UseStarReaderOptions {
  /** The engine factory; defaults to the engine's createReader (src/star/reader.ts). */
  createReader?: ReaderFactory;
}

export type StarReaderController = Pick<
  ReaderSession,
  | 'loadModel'
  | 'reload'
  | 'recover'
  | 'unload'
  | 'setDocument'
  | 'clearDocument'
  | 'truncateDocument'
  | 'useWholeDocument'
  | 'documentBudget'
  | 'encodeDocument'
  | 'openSavedDocument'
  | 'ask'
  | 'unwait'
  | 'cancel'
  | 'clearChat'
  | 'regenerate'
  | 'editLastQuestion'
  | 'lastQuestion'
  | 'dismissError'
  | 'currentReader'
>;

export function useStarReader(options: UseStarReaderOptions = {}): { state: SessionState; reader: StarReaderController } {
  const [session] = useState(() => new ReaderSession(options.createReader ?? createEngineReader));
  const state = useSyncExternalStore(session.subscribe, session.getSnapshot, session.getSnapshot);
  useEffect(() => () => void session.dispose(), [session]);
  return { state, reader: session };
}
