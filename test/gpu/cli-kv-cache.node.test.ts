// `star-reader generate --kv-cache DIR` as a user runs it: the first run reads the document and saves
// it, the second reopens it without phase 1 and answers the same (greedy); other settings are refused.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = decodeURIComponent(new URL('../../bin/star-reader.mjs', import.meta.url).pathname);
const demo = decodeURIComponent(new URL('../../public/models/demo/', import.meta.url).pathname);

describe('star-reader generate --kv-cache', () => {
  it('saves the encoded document, reopens it on the next run with the same answer, and refuses other settings', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'star-reader-kv-cache-'));
    await writeFile(join(dir, 'doc.txt'), 'The harbour master logged forty-two ships in March. '.repeat(20));
    const args = ['generate', '--model', demo, '--document', join(dir, 'doc.txt'), '--prompt', 'How many ships?', '--max-tokens', '6', '--temperature', '0'];
    const cache = ['--kv-cache', join(dir, 'kv')];
    const first = await run(process.execPath, [bin, ...args, '--block-size', '256', ...cache], { timeout: 120_000 });
    expect(first.stderr).toMatch(/\[read \d+ tokens in \d+ ms: star attention, \d+ block\(s\), 1 host\(s\); saved to .*kv \(\d+ bytes\)/);
    const second = await run(process.execPath, [bin, ...args, '--block-size', '256', ...cache], { timeout: 120_000 });
    expect(second.stderr).toMatch(/\[reopened \d+ tokens from .*kv in \d+ ms, without phase 1\]/);
    expect(second.stdout).toBe(first.stdout);
    const other = run(process.execPath, [bin, ...args, '--block-size', '128', ...cache], { timeout: 120_000 });
    await expect(other).rejects.toMatchObject({ stderr: expect.stringMatching(/cannot be opened: it was read with blockSize 256, the reader asks for 128/) });
  });
});
