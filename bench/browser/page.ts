// The page side of run-page.ts's protocol, shared by every benchmark page: progress lines go to the
// console (which the runner echoes) and to the page's #log; the result or the error goes back through
// the functions the runner exposes. Opened by hand, the page just shows its log.
declare global {
  interface Window {
    reportBenchResult?: (json: string) => void;
    reportBenchError?: (message: string) => void;
  }
}

export type Say = (line: string) => void;

const say: Say = (line) => {
  console.log(line);
  const log = document.getElementById('log');
  if (log) log.textContent += `\n${line}`;
};

/** Runs the benchmark, shows `summary` of its result (if given) and reports it to the runner. */
export function runBenchmarkPage<T>(benchmark: (say: Say) => Promise<T>, summary?: (result: T) => string): void {
  benchmark(say).then(
    (result) => {
      if (summary) say(summary(result));
      window.reportBenchResult?.(JSON.stringify(result));
    },
    (error: unknown) => {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      say(`failed: ${message}`);
      window.reportBenchError?.(message);
    },
  );
}
