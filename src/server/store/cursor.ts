import { ConnectrError } from '../../core/errors.js';

/**
 * The page cursors the store hands out: two values as a base64url JSON pair, opaque to callers.
 * Decoding checks the form here and the values through `check`, so a cursor no page gave out
 * is refused (invalid_input) before anything of it reaches a query.
 */

export function encodeCursorPair(first: unknown, second: unknown): string {
  return Buffer.from(JSON.stringify([first, second]), 'utf8').toString('base64url');
}

/** The position `check` makes of the pair a cursor holds; `hint` says how to get a good one. */
export function decodeCursorPair<T>(
  cursor: string,
  hint: string,
  check: (first: unknown, second: unknown) => T | undefined,
): T {
  const bad = new ConnectrError('invalid_input', 'cursor is not one this server gave out', { hint });
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad;
  }
  if (!Array.isArray(value) || value.length !== 2) throw bad;
  const [first, second] = value as unknown[];
  const position = check(first, second);
  if (position === undefined) throw bad;
  return position;
}
