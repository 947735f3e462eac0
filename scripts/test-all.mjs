// Runs every part of the test suite in order, each reporting how many tests it ran, then one closing
// line with the totals. A part that runs no test, skips one, or fails makes the whole run fail.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';

mkdirSync('test-results', { recursive: true });

const parts = [
  { name: 'type-check', command: ['npx', 'tsc', '--noEmit', '-p', 'tsconfig.json'], counts: 'none' },
  { name: 'lint', command: ['npx', 'eslint', '.', '--max-warnings', '0'], counts: 'none' },
  { name: 'unit', vitest: 'unit' },
  { name: 'gpu (Node, Dawn)', vitest: 'gpu' },
  { name: 'gpu (Chromium)', vitest: 'browser' },
  { name: 'e2e (Chromium)', command: ['node', 'scripts/run-e2e.mjs'], counts: 'closing-line' },
];

let passed = 0;
let failed = 0;
const summary = [];

for (const part of parts) {
  console.log(`\n=== ${part.name} ===`);
  const started = Date.now();
  let result;
  if (part.vitest) {
    const report = `test-results/vitest-${part.vitest}.json`;
    rmSync(report, { force: true });
    const run = spawnSync(
      'npx',
      ['vitest', 'run', '--project', part.vitest, '--reporter=default', '--reporter=json', `--outputFile=${report}`],
      { stdio: 'inherit' },
    );
    result = countVitest(report, run.status);
  } else {
    const run = spawnSync(part.command[0], part.command.slice(1), {
      stdio: part.counts === 'closing-line' ? ['inherit', 'pipe', 'inherit'] : 'inherit',
      encoding: 'utf8',
    });
    if (part.counts === 'closing-line') {
      process.stdout.write(run.stdout ?? '');
      result = countClosingLine(run.stdout ?? '', run.status);
    } else {
      // A check, not tests: it adds no passes, and one failure when it fails.
      result = { ok: run.status === 0, passed: 0, failed: run.status === 0 ? 0 : 1, note: run.status === 0 ? 'clean' : 'errors' };
    }
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  passed += result.passed;
  failed += result.failed;
  summary.push(`${result.ok ? 'ok  ' : 'FAIL'} ${part.name}: ${result.note ?? `${result.passed} passed, ${result.failed} failed`} (${seconds} s)`);
}

console.log('\n=== summary ===');
for (const line of summary) console.log(line);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

function countVitest(reportPath, status) {
  let report;
  try {
    report = JSON.parse(readFileSync(reportPath, 'utf8'));
  } catch {
    return { ok: false, passed: 0, failed: 1, note: `no report (vitest exited ${status})` };
  }
  const p = report.numPassedTests;
  const f = report.numFailedTests + (report.numFailedTestSuites ?? 0);
  const skipped = report.numPendingTests + report.numTodoTests;
  const ok = status === 0 && f === 0 && p > 0 && skipped === 0;
  let note = `${p} passed, ${f} failed`;
  if (skipped) note += `, ${skipped} skipped (not allowed)`;
  if (p === 0) note += ' — no test ran';
  return { ok, passed: p, failed: ok ? 0 : Math.max(1, f), note };
}

function countClosingLine(output, status) {
  const match = [...output.matchAll(/^(\d+) passed, (\d+) failed/gm)].pop();
  if (!match) return { ok: false, passed: 0, failed: 1, note: `no result line (exited ${status})` };
  const p = Number(match[1]);
  const f = Number(match[2]);
  const ok = status === 0 && f === 0 && p > 0;
  return { ok, passed: p, failed: ok ? 0 : Math.max(1, f), note: p === 0 ? 'no test ran' : undefined };
}
