// The one place the UI reaches the engine. Loaded on demand: the shell paints before the engine's code arrives.
import type { ReaderFactory } from './session.ts';
import { EngineMissingError } from './errors.ts';

// TEMPORARY until the lead lands src/star/reader.ts: a glob finds the module only when it exists, so the
// shell builds and runs before the engine does. Then: `const { createReader } = await import('../star/reader.ts')`.
const engineModule = import.meta.glob<{ createReader: ReaderFactory }>('../star/reader.ts');

export const createEngineReader: ReaderFactory = async (options) => {
  const load = engineModule['../star/reader.ts'];
  if (!load) throw new EngineMissingError();
  const { createReader } = await load();
  return createReader(options);
};
