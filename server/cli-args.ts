// One argument parser for every labrun command (node:util parseArgs): `--name value` and
// `--name=value`, strict (an unknown option or a stray argument is an error), a single-valued option
// given twice is an error, and every command words its errors and --help the same way.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { errorMessage } from './common.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export class ArgsError extends Error {
  override name = 'ArgsError';
}

/** parseArgs's messages, reworded the way labrun's other messages are. */
function reword(err: unknown): string {
  const message = errorMessage(err);
  const code = err instanceof Error && 'code' in err ? err.code : undefined;
  const quoted = /'([^']+)'/.exec(message)?.[1] ?? '';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${quoted}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return `option '${/--[\w-]+/.exec(message)?.[0] ?? quoted}' needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${quoted}'`;
    default:
      return message;
  }
}

/** Parses argv against `options`; throws ArgsError with a message a person can act on. */
export function readArgs<const O extends Options>(argv: string[], options: O, allowPositionals = false) {
  // `--cpus -1`: a value that looks like a negative number is still the value (its check says what is wrong).
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const next = argv[i + 1];
    const takesValue = a.startsWith('--') && !a.includes('=') && options[a.slice(2)]?.type === 'string';
    if (takesValue && next !== undefined && /^-\d/.test(next)) args.push(`${a}=${argv[++i] ?? ''}`);
    else args.push(a);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals, tokens: true });
  } catch (err) {
    throw new ArgsError(reword(err));
  }
  const seen = new Set<string>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option') continue;
    if (!options[t.name]?.multiple && seen.has(t.name)) throw new ArgsError(`option '--${t.name}' given twice`);
    seen.add(t.name);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/**
 * A command's arguments, with `--help`/`-h` added: prints the usage and returns 0 for help, prints
 * `labrun <command>: <problem>` and the usage and returns 2 for bad arguments; else the parse.
 */
export function commandArgs<const O extends Options>(command: string, usage: string, argv: string[], options: O, allowPositionals = false) {
  try {
    const args = readArgs(argv, { ...options, help: { type: 'boolean', short: 'h' } } as const, allowPositionals);
    const flags: Record<string, unknown> = args.values;
    if (flags.help === true) {
      console.log(usage);
      return 0;
    }
    return args;
  } catch (err) {
    if (!(err instanceof ArgsError)) throw err;
    console.error(`labrun ${command}: ${err.message}\n\n${usage}`);
    return 2;
  }
}
