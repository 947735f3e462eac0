// `star-reader score` with ids the model has no embedding row for (issue: id 999999 on a small
// model used to write logits computed from whatever the GPU read past the table): a clear error, no
// output file. In-process on the demo model.
import { access, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { score } from '../../src/cli/score.ts';

const demo = decodeURIComponent(new URL('../../public/models/demo/', import.meta.url).pathname);

async function scoreIds(context: number[], query: number[]): Promise<{ run: Promise<void>; out: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'star-reader-ids-'));
  await writeFile(join(dir, 'ctx.json'), JSON.stringify(context));
  await writeFile(join(dir, 'q.json'), JSON.stringify(query));
  const out = join(dir, 'out.safetensors');
  return { run: score(['--model', demo, '--context-ids', join(dir, 'ctx.json'), '--query-ids', join(dir, 'q.json'), '--out', out]), out };
}

describe('star-reader score and token ids outside the vocabulary', () => {
  it('refuses a context id past the vocabulary and writes nothing', async () => {
    const { run, out } = await scoreIds([1, 999_999, 3], [4]);
    await expect(run).rejects.toThrow(/Token id 999999 \(index 1 of the context\) is outside the model's vocabulary of 2048/);
    await expect(access(out)).rejects.toThrow();
  });

  it('refuses a query id equal to the vocabulary size', async () => {
    const { run, out } = await scoreIds([1, 2, 3], [5, 2048]);
    await expect(run).rejects.toThrow(/Token id 2048 \(index 1 of the fed tokens\) is outside/);
    await expect(access(out)).rejects.toThrow();
  });
});
