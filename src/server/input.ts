import * as z from 'zod';
import { MAX_VERSION } from '../core/connector/versions.js';

/**
 * The rules every route applies to text, ids and dates before they reach the database, in one
 * place: PostgreSQL's text cannot hold a NUL, its timestamps end at year 294276 (and
 * JavaScript's dates write years past 9999 and before 1 in forms it refuses), so a value that
 * would fail there is refused here as the caller's mistake, naming its field. A database error
 * is never the way a bad value is found.
 */

/**
 * No control characters (C0, DEL, C1), NUL among them: they would fail in the database or land
 * in logs and terminals. Written as ranges, not `\p{Cc}`: /openapi.json carries the pattern,
 * and Python's `re`, most code generators and fuzzers know no Unicode property classes.
 */
// eslint-disable-next-line no-control-regex
export const NO_CONTROL = /^[^\x00-\x1f\x7f-\x9f]*$/;

/** No NUL, the one character PostgreSQL's text cannot hold: for text shown escaped, never in a header. */
// eslint-disable-next-line no-control-regex
export const NO_NUL = /^[^\x00]*$/;

/** A short label: not blank, bounded, no control characters. */
export const label = (what: string, max: number): z.ZodString =>
  z
    .string()
    .min(1, { message: `${what} must not be empty` })
    .max(max, { message: `${what} has at most ${max} characters` })
    .regex(NO_CONTROL, { message: `${what} must not contain control characters` })
    .refine((v) => v.trim() !== '', { message: `${what} must not be blank` });

/** A connector version in a body (connector/versions.ts): a whole number from 1, bounded as the column is. */
export const connectorVersion = z
  .number({ message: 'connector_version must be a whole number from 1 (e.g. 2)' })
  .int({ message: 'connector_version must be a whole number from 1 (e.g. 2)' })
  .min(1, { message: 'connector_version must be a whole number from 1 (e.g. 2)' })
  .max(MAX_VERSION, { message: `connector_version is at most ${MAX_VERSION}` });

/** The form of every row id (store/ids.ts: `conn_` and base32), bounded. */
export const ID_PATTERN = /^[a-z]+_[a-z0-9]+$/;

/** A page size in a query string (`?limit=`): a whole number from 1 to `max`, `fallback` when absent. */
export const pageLimit = (max: number, fallback: number, what: string) =>
  z.coerce
    .number()
    .int({ message: 'limit must be a whole number' })
    .min(1, { message: 'limit must be at least 1' })
    .max(max, { message: `limit must be at most ${max}` })
    .optional()
    .describe(`At most this many ${what} (1 to ${max}, default ${fallback}).`);

/** A connection id, wherever a caller gives one (path, body, query, header, MCP argument). */
export const connectionId = z
  .string()
  .max(64, { message: 'a connection id has at most 64 characters' })
  .regex(ID_PATTERN, { message: 'expected a connection id, e.g. conn_abc…' })
  .describe('The connection id, `conn_…`.');

/**
 * A value a protocol defines as visible ASCII (an OAuth code or state, RFC 6749 Appendix A:
 * VSCHAR), bounded: anything else cannot be one, and is refused before it is looked up.
 */
export const visibleAscii = (what: string, max: number): z.ZodString =>
  z
    .string()
    .min(1, { message: `${what} must not be empty` })
    .max(max, { message: `${what} has at most ${max} characters` })
    .regex(/^[\x20-\x7e]+$/, { message: `${what} is visible ASCII (RFC 6749 Appendix A)` });

/** The dates the server stores: from 1970 to the end of year 9999, the range ISO 8601 writes plainly. */
export const EARLIEST_DATE = Date.UTC(1970, 0, 1);
export const LATEST_DATE = Date.UTC(10_000, 0, 1) - 1;

/** Whether the database can store this date and give it back as it was. */
export function storableDate(date: Date): boolean {
  const time = date.getTime();
  return Number.isFinite(time) && time >= EARLIEST_DATE && time <= LATEST_DATE;
}

/** An RFC 3339 date and time within the stored range. */
export const dateTime = (what: string) =>
  z.iso
    .datetime({ offset: true, message: `${what} is an RFC 3339 date and time, e.g. 2030-01-01T00:00:00Z` })
    .refine((value) => storableDate(new Date(value)), {
      message: `${what} must be between 1970-01-01 and 9999-12-31`,
    });
