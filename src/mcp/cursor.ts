import * as z from 'zod';
import type { PagePosition } from '../core/engine/paginate.js';
import { ConnectrError } from '../core/errors.js';

/**
 * The page cursor an MCP tool answers as next_cursor and takes back as `cursor`: where the
 * next page is (core/engine/paginate.ts PagePosition), as opaque base64url JSON. A cursor
 * handed back altered can only point at a page of the same endpoint on the same origin:
 * requestAt checks that before anything is sent.
 */

const PREFIX = 'c1.';
/** Far more than any page token, next link or offset; less than an abuse of memory. */
const MAX_CURSOR = 16 * 1024;

const Position = z.union([
  z.strictObject({
    kind: z.literal('values'),
    values: z.record(z.string(), z.union([z.string(), z.number()])),
  }),
  z.strictObject({ kind: z.literal('continue'), cursor: z.string() }),
  z.strictObject({ kind: z.literal('link'), url: z.string() }),
]);

export function encodeCursor(position: PagePosition): string {
  return PREFIX + Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeCursor(cursor: unknown, name: string): PagePosition {
  const refuse = (): ConnectrError =>
    new ConnectrError('invalid_input', `${name} is not a cursor this tool answered`, {
      hint: `give the next_cursor of the previous page as it came, or leave ${name} out for the first page`,
    });
  if (typeof cursor !== 'string' || !cursor.startsWith(PREFIX) || cursor.length > MAX_CURSOR) throw refuse();
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(cursor.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  const parsed = Position.safeParse(data);
  if (!parsed.success) throw refuse();
  return parsed.data;
}
