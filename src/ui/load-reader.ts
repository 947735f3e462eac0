// The one place the UI reaches the engine. Loaded on demand: the shell paints before the engine's code arrives.
import type { ReaderFactory } from './session.ts';

export const createEngineReader: ReaderFactory = async (options) => {
  const { createReader } = await import('../star/reader.ts');
  return createReader(options);
};
