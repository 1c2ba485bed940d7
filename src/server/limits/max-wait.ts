import type { IncomingHttpHeaders } from 'node:http';
import * as z from 'zod';
import { MAX_WAIT_LIMIT_MS } from '../../core/limits/spec.js';
import { FieldError } from '../errors.js';

/** A body's `max_wait_ms` (execute's, the limits route's): whole milliseconds, 0 to 60000. */
export const MaxWaitMs = z.number().int().min(0).max(MAX_WAIT_LIMIT_MS);

/** The request header with which a caller bounds its wait for a rate limit's turn (ms). */
export const MAX_WAIT_HEADER = 'x-connectr-max-wait';

/**
 * The caller's own longest wait for its turn: execute's `max_wait_ms` (checked by its schema)
 * first, else the x-connectr-max-wait header, a whole number of milliseconds from 0 to 60000;
 * anything else is a 400 naming the header. Undefined: the limits' own max_wait.
 */
export function callerMaxWait(headers: IncomingHttpHeaders, field?: number): number | undefined {
  if (field !== undefined) return field;
  const given = headers[MAX_WAIT_HEADER];
  if (given === undefined) return undefined;
  const text = Array.isArray(given) ? given.join(',') : given;
  const value = /^[0-9]{1,6}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!(value <= MAX_WAIT_LIMIT_MS))
    throw new FieldError(
      `headers.${MAX_WAIT_HEADER}`,
      `${MAX_WAIT_HEADER} must be a whole number of milliseconds from 0 to ${MAX_WAIT_LIMIT_MS}`,
      { hint: `e.g. "${MAX_WAIT_HEADER}: 2000" to wait at most 2 s for a rate limit's turn` },
    );
  return value;
}
