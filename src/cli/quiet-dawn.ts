// Dawn (npm package `webgpu`) prints "Warning: maxDynamic…PerPipelineLayout artificially reduced from
// … to fit dynamic offset allocation limit." from native code (fprintf to the process's stderr) on
// every adapter request where the driver reports huge limits (lavapipe does). It is no fault of the
// user's and no JavaScript hook can silence it, so the command line runs itself as a child whose
// stderr passes through StderrFilter: those two lines are dropped, everything else is passed on as it
// comes (progress bars included; the child is told whether the real stderr is a terminal).
import { spawn } from 'node:child_process';

const dawnLimitWarning = /^Warning: maxDynamic\w+PerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?$/;
const warningStart = 'Warning: ';

/** Set in the child: its stderr is already filtered. */
export const filteredEnv = 'STAR_READER_FILTERED_STDERR';
/** Set in the child when the parent's stderr is a terminal (the child's is a pipe). */
export const terminalEnv = 'STAR_READER_STDERR_TERMINAL';

/** Drops Dawn's limit warnings from a stream of text, passing the rest through unchanged and without delay where it can. */
export class StderrFilter {
  private pending = '';

  push(chunk: string): string {
    let text = this.pending + chunk;
    let out = '';
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n')) {
      const line = text.slice(0, end);
      if (!dawnLimitWarning.test(line)) out += `${line}\n`;
      text = text.slice(end + 1);
    }
    // An unfinished line is held back only while it could still become one of the warnings.
    const couldBeWarning = warningStart.startsWith(text) || text.startsWith(warningStart);
    this.pending = couldBeWarning ? text : '';
    return couldBeWarning ? out : out + text;
  }

  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return dawnLimitWarning.test(rest) ? '' : rest;
  }
}

/** Runs this same command line as a child with its stderr filtered; resolves to the child's exit code. */
export function runWithFilteredStderr(): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'pipe'],
    env: { ...process.env, [filteredEnv]: '1', ...(process.stderr.isTTY ? { [terminalEnv]: String(process.stderr.columns || 80) } : {}) },
  });
  const filter = new StderrFilter();
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => process.stderr.write(filter.push(chunk)));
  // Ctrl+C reaches the child too (same process group): wait for it to finish instead of dying first.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      process.stderr.write(filter.flush());
      resolve(code ?? (signal === 'SIGINT' ? 130 : 1));
    });
  });
}
