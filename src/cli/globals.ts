import type { Command } from 'commander';

/**
 * The options every command accepts, known here only: main.ts declares them on the program,
 * `call` (whose arguments commander does not parse) takes them out of its own and shows them in
 * each endpoint's help, and start.ts and main.ts step over their values to find the command
 * word. No import but a type: start.ts runs this before anything else is loaded.
 */

export interface GlobalOptions {
  readonly json?: boolean;
  readonly color?: boolean;
  readonly connectorsDir?: readonly string[];
}

const JSON_FLAG = '--json';
const NO_COLOR_FLAG = '--no-color';
const DIR_FLAG = '--connectors-dir';

/** Declares the global options on a command, as the program's or an endpoint's help shows them. */
export function addGlobalOptions(command: Command): Command {
  return command
    .option(JSON_FLAG, 'print results as JSON (the default when stdout is not a terminal)')
    .option(NO_COLOR_FLAG, 'no colour in output (NO_COLOR=1 does the same)')
    .option(
      `${DIR_FLAG} <dir>`,
      'also load connector definitions from this directory (repeatable; CONNECTR_CONNECTORS_DIR too)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    );
}

/** Where the command word is: the first argument that is neither a global option nor its value. */
export function commandIndex(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === DIR_FLAG) i++;
    else if (!arg.startsWith('-')) return i;
  }
  return argv.length;
}

/** Takes the global options out of arguments commander does not parse (`call`'s), wherever they are. */
export function splitGlobals(args: readonly string[]): { globals: GlobalOptions; rest: string[] } {
  const rest: string[] = [];
  let json: boolean | undefined;
  let color: boolean | undefined;
  const dirs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === JSON_FLAG) json = true;
    else if (arg === NO_COLOR_FLAG) color = false;
    else if (arg === DIR_FLAG && i + 1 < args.length) dirs.push(args[++i] ?? '');
    else if (arg.startsWith(`${DIR_FLAG}=`)) dirs.push(arg.slice(DIR_FLAG.length + 1));
    else rest.push(arg);
  }
  return {
    globals: {
      ...(json ? { json } : {}),
      ...(color === false ? { color } : {}),
      ...(dirs.length ? { connectorsDir: dirs } : {}),
    },
    rest,
  };
}
