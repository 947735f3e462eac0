// A small, strict parser for `--name value` and `--flag` arguments: unknown options are errors.

export interface OptionSpec {
  [name: string]: { type: 'string' | 'number' | 'boolean'; required?: boolean; default?: string | number | boolean; help: string };
}

export type ParsedOptions<S extends OptionSpec> = {
  [K in keyof S]: S[K]['type'] extends 'number' ? number : S[K]['type'] extends 'boolean' ? boolean : string;
};

export class UsageError extends Error {
  override name = 'UsageError';
}

/** The value `parse` gives, or, if it throws, a UsageError with its message (bad arguments exit with 2). */
export function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function parseOptions<S extends OptionSpec>(argv: readonly string[], spec: S): ParsedOptions<S> {
  const out: Record<string, string | number | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`Unexpected argument "${arg}"`);
    const name = arg.slice(2);
    const option = spec[name];
    if (!option) throw new UsageError(`Unknown option --${name}; options: ${Object.keys(spec).map((k) => `--${k}`).join(', ')}`);
    if (option.type === 'boolean') {
      out[name] = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (option.type === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`);
      out[name] = n;
    } else {
      out[name] = value;
    }
  }
  for (const [name, option] of Object.entries(spec)) {
    if (out[name] !== undefined) continue;
    if (option.default !== undefined) out[name] = option.default;
    else if (option.type === 'boolean') out[name] = false;
    else if (option.required) throw new UsageError(`Missing --${name} (${option.help})`);
  }
  return out as ParsedOptions<S>;
}

export function usage(spec: OptionSpec): string {
  return Object.entries(spec)
    .map(([name, o]) => `  --${name}${o.type === 'boolean' ? '' : ` <${o.type}>`}  ${o.help}${o.default !== undefined ? ` (default ${o.default})` : ''}`)
    .join('\n');
}
