// The RULER table: accuracy per task and length for each attention mode, the star/full ratio, and
// each length's average over tasks.
import type { AttentionMode } from '../../star/reader-api.ts';
import type { RulerReport } from './runner.ts';

/** star / full, or undefined when either is missing or full scored 0. */
export function starFullRatio(scores: Partial<Record<AttentionMode, number>>): number | undefined {
  const { full, star } = scores;
  return full === undefined || star === undefined || full === 0 ? undefined : star / full;
}

/** Each length's mean score over tasks, per mode. */
export function averages(report: RulerReport): Map<number, Partial<Record<AttentionMode, number>>> {
  const out = new Map<number, Partial<Record<AttentionMode, number>>>();
  for (const length of report.lengths) {
    const rows = report.results.filter((r) => r.length === length);
    const mean: Partial<Record<AttentionMode, number>> = {};
    for (const mode of report.modes) mean[mode] = rows.reduce((sum, r) => sum + r.scores[mode]!, 0) / rows.length;
    out.set(length, mean);
  }
  return out;
}

export function formatMarkdown(report: RulerReport): string {
  const both = report.modes.includes('full') && report.modes.includes('star');
  const cells = (scores: Partial<Record<AttentionMode, number>>) => {
    const row = report.modes.map((m) => scores[m]!.toFixed(2));
    if (both) row.push(starFullRatio(scores)?.toFixed(3) ?? '–');
    return row;
  };
  const header = ['task', ...report.lengths.flatMap((n) => [...report.modes.map((m) => `${n} ${m}`), ...(both ? [`${n} star/full`] : [])])];
  const line = (row: string[]) => `| ${row.join(' | ')} |`;
  const lines = [
    `RULER accuracy (string_match_all, %) — ${report.model.name} on ${report.model.adapter}; ${report.samples} sample(s) per task and length, seed ${report.seed}, ` +
      `block size ${report.blockSize ?? 'planner default'}, ${report.hosts} host(s)` +
      (report.maxNewTokens === undefined ? '' : `; answers capped at ${report.maxNewTokens} tokens (RULER: 128 niah, 30 vt, 120 cwe)`),
    '',
    line(header),
    line(header.map((_, i) => (i === 0 ? '---' : '---:'))),
  ];
  for (const task of report.tasks) {
    lines.push(line([task, ...report.lengths.flatMap((n) => cells(report.results.find((r) => r.task === task && r.length === n)!.scores))]));
  }
  const mean = averages(report);
  lines.push(line(['**average**', ...report.lengths.flatMap((n) => cells(mean.get(n)!))]));
  return lines.join('\n') + '\n';
}
