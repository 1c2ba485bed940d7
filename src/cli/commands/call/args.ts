import type { GlobalOptions } from '../../context.js';

/** Takes connectr's global options out of `call`'s arguments, wherever the user put them. */
export function splitGlobals(args: readonly string[]): { globals: GlobalOptions; rest: string[] } {
  const rest: string[] = [];
  let json: boolean | undefined;
  let color: boolean | undefined;
  const dirs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--json') json = true;
    else if (arg === '--no-color') color = false;
    else if (arg === '--connectors-dir' && i + 1 < args.length) dirs.push(args[++i] ?? '');
    else if (arg.startsWith('--connectors-dir=')) dirs.push(arg.slice('--connectors-dir='.length));
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
