// star-reader: the Node command line (WebGPU through Dawn).
import { readFileSync } from 'node:fs';
import { score, scoreOptions } from './score.ts';
import { bench, benchOptions } from './bench.ts';
import { generate, generateOptions } from './generate.ts';
import { evaluate, evalOptions } from './eval.ts';
import { usage, UsageError, type OptionSpec } from './args.ts';
import { filteredEnv, runWithFilteredStderr } from './quiet-dawn.ts';

interface Command {
  run: (argv: readonly string[]) => Promise<void>;
  synopsis: string;
  summary: string;
  options: OptionSpec;
}

const commands: Record<string, Command> = {
  generate: { run: generate, synopsis: 'generate --model DIR [--document FILE] (--prompt "…" | --chat)', summary: 'ask a model about a document: one question or a chat', options: generateOptions },
  score: { run: score, synopsis: 'score --model DIR --context-ids CTX.json --query-ids Q.json --out OUT.safetensors', summary: 'score token ids with full or Star Attention', options: scoreOptions },
  bench: { run: bench, synopsis: 'bench [--quick] [--browser]', summary: 'Star Attention vs full attention: encode time, decode speed, kernels', options: benchOptions },
  eval: {
    run: evaluate,
    synopsis: 'eval ruler --model DIR | eval citations --model DIR [--length N] [--task niah_single_2] [--samples N] [--span-tokens 256]',
    summary: 'RULER-style long-context accuracy, full vs Star Attention, on the same generated samples; or where citations point on needle samples (the options below are ruler\'s)',
    options: evalOptions,
  },
};

const exitCodes = 'exit codes: 0 done · 1 the command failed (its message says why) · 2 bad arguments · 130 interrupted (Ctrl+C)';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function overview(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  return [
    `star-reader ${version()}: ask long documents questions with an open LLM on your GPU (WebGPU through Dawn), made affordable by Star Attention.`,
    '',
    'usage: star-reader <command> [options]',
    '       star-reader <command> --help     that command\'s options',
    '       star-reader --version',
    '',
    'commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    exitCodes,
  ].join('\n');
}

function commandHelp(name: string): string {
  const c = commands[name];
  return [`usage: star-reader ${c.synopsis}`, '', c.summary, '', 'options:', usage(c.options), '  --help  this text', '', exitCodes].join('\n');
}

const isHelp = (arg: string) => arg === '--help' || arg === '-h';

/** Runs one command line; what it prints goes to stdout (results, help) and stderr (progress, errors). */
async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || isHelp(name) || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    console.log(topic && commands[topic] ? commandHelp(topic) : overview());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    console.log(version());
    return 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`star-reader: unknown command "${name}"\n\n${overview()}`);
    return 2;
  }
  if (rest.some(isHelp)) {
    console.log(commandHelp(name));
    return 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`star-reader ${name}: ${error.message}\n(star-reader ${name} --help lists the options)`);
      return 2;
    }
    console.error(`star-reader ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

const argv = process.argv.slice(2);
const runsTheGpu = argv.length > 0 && commands[argv[0]] !== undefined && !argv.some(isHelp);
// Dawn keeps the event loop alive: exit explicitly once the command is done.
process.exit(runsTheGpu && !process.env[filteredEnv] ? await runWithFilteredStderr() : await main(argv));
