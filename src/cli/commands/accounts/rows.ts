import type { CliContext } from '../../context.js';

/**
 * What `accounts list` and `accounts check` print alike: every row as JSON with --json (or when
 * piped), else the note that no one is signed in yet. True when that said everything, and the
 * command's table is not wanted.
 */
export function printedWithoutTable(ctx: CliContext, rows: readonly unknown[]): boolean {
  const { out } = ctx;
  if (out.json) {
    out.printJson(rows);
    return true;
  }
  if (rows.length === 0) {
    out.info('No accounts yet. Sign in with `connectr auth <connector>`.');
    return true;
  }
  return false;
}
