// The speed benchmark's browser page (bench/browser/speed.html) as `npm run bench -- --browser` runs it,
// on the embedded demo model and short lengths: the report it sends back has every row measured, the
// ratios against full attention from the same run, and the theoretical FLOPs of each plan.
import assert from 'node:assert/strict';
import { nodeSuite } from './support/harness.ts';
import { runBenchPage } from '../bench/browser/run-page.ts';
import { planBlocks } from '../src/star/block-planner.ts';
import { attentionFlops } from '../src/star/block-planner.ts';
import { flopsRatio, type SpeedReport } from '../src/bench/speed-bench.ts';

const t = nodeSuite('bench-page');

t.test('the speed benchmark runs in Chromium with hosts in Workers and reports star against full', async () => {
  const { result, adapter } = await runBenchPage<SpeedReport>('bench/browser/speed.html', {
    query: { model: '/models/demo/', lengths: '256,512', blockDivisors: '4', hosts: '1,2', decode: '2' },
    timeoutMs: 150_000,
  });
  assert.match(adapter, /^Chromium /);
  assert.equal(result.platform, 'browser');
  assert.equal(result.model, '/models/demo/');
  assert.deepEqual(result.layout && [result.layout.heads, result.layout.headDim, result.layout.layers], [1, 128, 2]);
  const rows = result.rows.map((r) => [r.length, r.stats.attention, r.stats.hosts, r.stats.blockSize, r.stats.blocks]);
  assert.deepEqual(rows, [
    [256, 'full', 1, 256, 1],
    [256, 'star', 1, 128, 2],
    [256, 'star', 2, 128, 2],
    [512, 'full', 1, 512, 1],
    [512, 'star', 1, 128, 4],
    [512, 'star', 2, 128, 4],
  ]);
  for (const row of result.rows) {
    const full = result.rows.find((r) => r.length === row.length && r.stats.attention === 'full')!;
    assert.ok(row.stats.encodeMs > 0 && (row.decodeTokensPerSecond ?? 0) > 0, 'encode and decode measured');
    assert.equal(row.measuredRatio, full.stats.encodeMs / row.stats.encodeMs);
    const plan = planBlocks(row.stats.tokens, { blockSize: row.stats.blockSize, hosts: row.stats.hosts });
    assert.equal(row.flopsRatio, flopsRatio(plan, row.stats.attention));
    assert.equal(row.attentionFlops, attentionFlops(plan, row.stats.attention, result.layout!));
    assert.equal(row.attentionFlops, row.stats.attentionFlops, "the engine's own count agrees");
  }
  assert.equal(result.rows[1].flopsRatio, 1, 'two blocks: as much work as full attention');
  assert.ok(result.rows[4].flopsRatio > 1.59 && result.rows[4].flopsRatio < 1.6);
  assert.deepEqual(
    result.kernels.map((k) => [k.tokens, k.blockSize, k.fullMs > 0 && k.starMs > 0, k.measuredRatio === k.fullMs / k.starMs]),
    [
      [256, 128, true, true],
      [512, 128, true, true],
    ],
  );
});

await t.run();
