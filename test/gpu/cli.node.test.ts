// The command line as a user runs it, in a separate process: `score` (ids files in, a safetensors file
// out, checked against transformers' hf-golden star_b128 reference on two hosts), `generate`
// (the demo model answering a prompt, and a chat read from standard input) and `bench` (its files).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fixtureLocation, loadGolden } from '../support/fixtures.ts';
import { openDirectorySource } from '../../src/model/source/directory-source.node.ts';
import { readSafetensorsHeader, readTensorBytes } from '../../src/model/safetensors.ts';
import { maxAbsDiff } from '../support/random.ts';

const run = promisify(execFile);
const bin = decodeURIComponent(new URL('../../bin/star-reader.mjs', import.meta.url).pathname);

describe('star-reader score', () => {
  it('writes logits and greedy ids that match transformers (star, b=128, 2 hosts)', async () => {
    const golden = await loadGolden('tiny-qwen2');
    const dir = await mkdtemp(join(tmpdir(), 'star-reader-score-'));
    await writeFile(join(dir, 'ctx.json'), JSON.stringify(Array.from(golden.contextIds)));
    await writeFile(join(dir, 'q.json'), JSON.stringify(Array.from(golden.queryIds)));
    const args = ['score', '--model', fixtureLocation('tiny-qwen2'), '--context-ids', join(dir, 'ctx.json'), '--query-ids', join(dir, 'q.json')];
    args.push('--generate', String(golden.generated), '--attention', 'star', '--block-size', '128', '--hosts', '2');
    // The f32 KV cache: the exact path, at the golden tests' tolerance.
    args.push('--rope-dtype', golden.ropeDType, '--kv-cache-type', 'f32', '--out', join(dir, 'out.safetensors'));
    const { stderr } = await run(process.execPath, [bin, ...args], { timeout: 240_000 });
    expect(stderr).toMatch(/star attention, 8 block\(s\) of 128, 2 host\(s\)/);

    const source = openDirectorySource(dir);
    const { tensors } = await readSafetensorsHeader(source, 'out.safetensors');
    expect(tensors.get('logits')?.shape).toEqual([golden.queryIds.length + golden.generated, golden.vocab]);
    const logits = new Float32Array((await readTensorBytes(source, tensors.get('logits')!)).slice().buffer);
    const ids = new Int32Array((await readTensorBytes(source, tensors.get('ids')!)).slice().buffer);
    const want = golden.star.get(128)!;
    expect(maxAbsDiff(logits, want.queryLogits)).toBeLessThan(1e-3);
    expect(Array.from(ids)).toEqual(Array.from(want.greedyIds));
  });

  it('refuses bad arguments with a usage message and exit code 2', async () => {
    const failure = run(process.execPath, [bin, 'score', '--model', 'x', '--attention', 'ring'], { timeout: 60_000 });
    await expect(failure).rejects.toMatchObject({ code: 2 });
    await expect(failure).rejects.toMatchObject({ stderr: expect.stringMatching(/Missing --context-ids|--attention must be star or full/) });
  });
});

describe('star-reader help, version and exit codes', () => {
  it('--help, <command> --help and --version answer on stdout with exit code 0', async () => {
    const overview = await run(process.execPath, [bin, '--help'], { timeout: 60_000 });
    expect(overview.stdout).toMatch(/usage: star-reader <command> \[options\]/);
    expect(overview.stdout).toMatch(/exit codes: 0 done · 1 the command failed .* 2 bad arguments/);
    for (const command of ['generate', 'score', 'bench', 'eval']) expect(overview.stdout).toMatch(new RegExp(`^ {2}${command} `, 'm'));
    const scoreHelp = await run(process.execPath, [bin, 'score', '--help'], { timeout: 60_000 });
    expect(scoreHelp.stdout).toMatch(/usage: star-reader score --model DIR/);
    expect(scoreHelp.stdout).toMatch(/--context-ids <string> {2}JSON array of context token ids/);
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect((await run(process.execPath, [bin, '--version'], { timeout: 60_000 })).stdout.trim()).toBe(version);
  });

  it('an unknown command exits with 2 and the overview', async () => {
    const failure = run(process.execPath, [bin, 'frobnicate'], { timeout: 60_000 });
    await expect(failure).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command "frobnicate"[\s\S]*usage: star-reader/) });
  });
});

describe('star-reader generate', () => {
  const demo = decodeURIComponent(new URL('../../public/models/demo/', import.meta.url).pathname);

  it('answers a prompt about a document: the answer on stdout, the stats on stderr', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'star-reader-generate-'));
    const document = 'The harbour master logged forty-two ships in March. '.repeat(20);
    await writeFile(join(dir, 'doc.txt'), document);
    const args = ['generate', '--model', demo, '--document', join(dir, 'doc.txt'), '--prompt', 'How many ships?'];
    const { stdout, stderr } = await run(process.execPath, [bin, ...args, '--max-tokens', '5', '--block-size', '256'], { timeout: 120_000 });
    expect(stdout.trim().length).toBeGreaterThan(0);
    expect(stderr).toMatch(/read \d+ tokens in \d+ ms: star attention, \d+ block\(s\), 1 host\(s\)/);
    expect(stderr).toMatch(/\[5 tokens, query \d+ ms, [\d.]+ tokens\/s, stopped by max-tokens\]/);
    // Dawn's "artificially reduced" limit warnings (native stderr) are kept off the terminal.
    expect(stderr).not.toMatch(/artificially reduced/);
    // The demo model quotes the document.
    expect(document).toContain(stdout.trim());
  });

  it('--chat answers one question per line of standard input, keeping the conversation', async () => {
    const child = execFile(process.execPath, [bin, 'generate', '--model', demo, '--chat', '--max-tokens', '3'], { timeout: 120_000 });
    child.stdin!.end('First question?\nA follow-up?\n');
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((done) => child.on('exit', done));
    expect(code).toBe(0);
    expect(stderr.match(/stopped by/g)).toHaveLength(2);
  });
});

describe('star-reader bench', () => {
  it('writes the JSON report and the markdown table: star against full, measured and in FLOPs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'star-reader-bench-'));
    const demo = decodeURIComponent(new URL('../../public/models/demo/', import.meta.url).pathname);
    const args = ['bench', '--model', demo, '--lengths', '256', '--block-divisors', '2', '--decode', '1', '--out', join(dir, 'r')];
    const { stderr } = await run(process.execPath, [bin, ...args], { timeout: 120_000 });
    expect(stderr).toMatch(/Star b=n\/2 n=256 b=128: \d+ ms, full \/ this [\d.]+× \(FLOPs 1\.00×\)/);
    const report = JSON.parse(await readFile(join(dir, 'r.json'), 'utf8'));
    expect(report).toMatchObject({ platform: 'node (Dawn)', layout: { heads: 1, headDim: 128, layers: 2 } });
    expect(report.rows.map((r: { stats: { attention: string; blockSize: number }; measuredRatio: number }) => [r.stats.attention, r.stats.blockSize, r.measuredRatio > 0])).toEqual([
      ['full', 256, true],
      ['star', 128, true],
    ]);
    expect(report.kernels).toHaveLength(1);
    const markdown = await readFile(join(dir, 'r.md'), 'utf8');
    expect(markdown).toContain('| full / this (measured) | attention FLOPs full / this | attention GFLOP |');
    expect(markdown).toMatch(/\| 256 \| star \| 128 \| 1 \| \d+ \| [\d.]+× \| 1\.00× \|/);
  });

  it('--modes star times Star Attention alone: no full row, no measured ratio, no kernels; the device limits written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'star-reader-bench-'));
    const demo = decodeURIComponent(new URL('../../public/models/demo/', import.meta.url).pathname);
    const args = ['bench', '--model', demo, '--modes', 'star', '--lengths', '256,512', '--block-divisors', '2', '--decode', '0', '--out', join(dir, 'r')];
    const { stderr } = await run(process.execPath, [bin, ...args], { timeout: 120_000 });
    expect(stderr).toMatch(/Star b=n\/2 n=512 b=256: \d+ ms \(FLOPs [\d.]+×\)/);
    expect(stderr).not.toMatch(/Full|full \/ this/);
    const report = JSON.parse(await readFile(join(dir, 'r.json'), 'utf8'));
    expect(report.rows.map((r: { stats: { attention: string; blockSize: number }; measuredRatio?: number }) => [r.stats.attention, r.stats.blockSize, r.measuredRatio])).toEqual([
      ['star', 128, undefined],
      ['star', 256, undefined],
    ]);
    expect(report.kernels).toEqual([]);
    expect(report.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    const markdown = await readFile(join(dir, 'r.md'), 'utf8');
    expect(markdown).toMatch(/Device limits: maxBufferSize \d+, maxStorageBufferBindingSize \d+ bytes\./);
    expect(markdown).toMatch(/\| 512 \| star \| 256 \| 1 \| \d+ \| [\d.]+× \| [\d.]+ \| — \|/);
    expect(markdown).not.toMatch(/NaN|measured/);
  });

  it('refuses a bad list with a usage message', async () => {
    const failure = run(process.execPath, [bin, 'bench', '--lengths', '1024,0'], { timeout: 60_000 });
    await expect(failure).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/"0" is not a positive integer/) });
  });

  it('refuses an unknown KV cache type with a usage message', async () => {
    const failure = run(process.execPath, [bin, 'bench', '--kv-cache-type', 'q8'], { timeout: 60_000 });
    await expect(failure).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/KV cache type must be one of f32, f16, got "q8"/) });
  });
});
