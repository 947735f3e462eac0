// star-reader: the Node command line (WebGPU through Dawn).
import { score, scoreOptions } from './score.ts';
import { bench, benchOptions } from './bench.ts';
import { generate, generateOptions } from './generate.ts';
import { evaluate, evalOptions } from './eval.ts';
import { usage, UsageError } from './args.ts';

const commands: Record<string, { run: (argv: readonly string[]) => Promise<void>; help: string }> = {
  score: { run: score, help: `score token ids with full or Star Attention\n${usage(scoreOptions)}` },
  generate: { run: generate, help: `ask a model about a document: one question or a chat\n${usage(generateOptions)}` },
  bench: { run: bench, help: `Star Attention vs full attention: encode time, decode speed, kernels\n${usage(benchOptions)}` },
  eval: { run: evaluate, help: `eval ruler: RULER-style long-context accuracy, full vs Star Attention, on the same generated samples\n${usage(evalOptions)}` },
};

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? commands[name] : undefined;
  if (!command) {
    console.error(`usage: star-reader <command> [options]\n\ncommands:\n${Object.entries(commands).map(([n, c]) => `${n}: ${c.help}`).join('\n\n')}`);
    return name ? 2 : 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`star-reader ${name}: ${error.message}`);
      return 2;
    }
    console.error(`star-reader ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

// Dawn keeps the event loop alive: exit explicitly once the command is done.
process.exit(await main(process.argv.slice(2)));
