import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import type { PagePosition } from '../core/engine/paginate.js';
import { ConnectrError } from '../core/errors.js';

/**
 * The page cursor an MCP tool answers as next_cursor and takes back as `cursor`: where the
 * next page is (core/engine/paginate.ts PagePosition), sealed for the tool that answered it.
 * An agent can only hand back a cursor connectr made, for that same tool: a forged one (a link
 * to another path of the API, which would get round --allow/--deny) is refused before anything
 * is sent. requestAt checks the position again (the param, the origin).
 */

/** Seals a cursor's payload for one tool (`bound`), and opens only what it sealed for it. */
export interface CursorSeal {
  seal(payload: string, bound: string): string;
  open(sealed: string, bound: string): string | undefined;
}

/** An HMAC-SHA-256 seal with a key of its own: cursors live as long as the process (stdio). */
export function processSeal(key: Buffer = randomBytes(32)): CursorSeal {
  const mac = (payload: string, bound: string): Buffer =>
    createHmac('sha256', key).update(bound).update('\n').update(payload).digest();
  return {
    seal: (payload, bound) =>
      `${Buffer.from(payload).toString('base64url')}.${mac(payload, bound).toString('base64url')}`,
    open(sealed, bound) {
      const [data, tag, extra] = sealed.split('.');
      if (data === undefined || tag === undefined || extra !== undefined) return undefined;
      const payload = Buffer.from(data, 'base64url').toString('utf8');
      const given = Buffer.from(tag, 'base64url');
      const expected = mac(payload, bound);
      return given.length === expected.length && timingSafeEqual(given, expected) ? payload : undefined;
    },
  };
}

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

export function encodeCursor(position: PagePosition, seal: CursorSeal, bound: string): string {
  return PREFIX + seal.seal(JSON.stringify(position), bound);
}

export function decodeCursor(cursor: unknown, name: string, seal: CursorSeal, bound: string): PagePosition {
  const refuse = (): ConnectrError =>
    new ConnectrError('invalid_input', `${name} is not a cursor this tool answered`, {
      hint: `give the next_cursor of the previous page as it came, or leave ${name} out for the first page`,
    });
  if (typeof cursor !== 'string' || !cursor.startsWith(PREFIX) || cursor.length > MAX_CURSOR) throw refuse();
  const payload = seal.open(cursor.slice(PREFIX.length), bound);
  if (payload === undefined) throw refuse();
  let data: unknown;
  try {
    data = JSON.parse(payload);
  } catch {
    throw refuse();
  }
  const parsed = Position.safeParse(data);
  if (!parsed.success) throw refuse();
  return parsed.data;
}
