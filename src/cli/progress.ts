// A one-line progress bar on stderr for the long steps (loading weights, reading the document), drawn
// only when stderr is a terminal: piped or redirected output gets the summary lines alone.
import { terminalEnv } from './quiet-dawn.ts';

export interface ProgressLine {
  update(done: number, total: number): void;
  /** Clears the bar, leaving the line for what comes next. */
  end(): void;
}

/** Columns of the terminal stderr goes to, or undefined when it is not one. */
export function terminalColumns(stream: { isTTY?: boolean; columns?: number } = process.stderr, env = process.env): number | undefined {
  if (stream.isTTY) return stream.columns || 80;
  const inherited = Number(env[terminalEnv]);
  return inherited > 0 ? inherited : undefined;
}

/** "label [#####-----]  50% 1.2 of 2.4 MB": fits `columns`, the bar taking what the text leaves. */
export function formatProgress(label: string, done: number, total: number, columns: number, format: (n: number) => string): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const tail = ` ${String(Math.floor(fraction * 100)).padStart(3)}% ${format(done)} of ${format(total)}`;
  const width = Math.max(10, Math.min(40, columns - label.length - tail.length - 4));
  const filled = Math.round(fraction * width);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]${tail}`.slice(0, columns - 1);
}

export function progressLine(label: string, format: (n: number) => string, write = (text: string) => process.stderr.write(text)): ProgressLine {
  const columns = terminalColumns();
  if (columns === undefined) return { update: () => undefined, end: () => undefined };
  let shown = '';
  return {
    update(done, total) {
      const line = formatProgress(label, done, total, columns, format);
      if (line !== shown) write(`\r${line.padEnd(shown.length)}`);
      shown = line;
    },
    end() {
      if (shown) write(`\r${' '.repeat(shown.length)}\r`);
      shown = '';
    },
  };
}

export const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
export const tokens = (n: number) => `${Math.round(n).toLocaleString('en-US')} tokens`;
