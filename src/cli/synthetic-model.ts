// The synthetic benchmark model (src/model/synthetic-weights.ts) written to a temporary folder, for
// everything in Node that takes a model directory.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticModelFiles, type SyntheticShape } from '../model/synthetic-weights.ts';

export async function writeSyntheticModel(shape: SyntheticShape, seed = 1): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'star-reader-synthetic-'));
  for (const [name, bytes] of syntheticModelFiles(shape, seed)) await writeFile(join(dir, name), bytes);
  return dir;
}
