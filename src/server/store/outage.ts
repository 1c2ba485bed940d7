import { ConnectrError } from '../../core/errors.js';
import type { ConnectrErrorOptions } from '../../core/errors.js';

/**
 * The one place that decides whether an error means "the database went away" (answered 503
 * `unavailable`, worth retrying) rather than "this statement is wrong" (a bug: 500). Imports
 * only the error type: the store's guard(), the readiness check and the HTTP error handler
 * all ask here.
 *
 * What node-postgres, pg-pool and PGlite raise when the server is stopped, restarted, crashes
 * or cannot be reached (drizzle wraps each in a DrizzleQueryError whose cause is the original):
 *
 * - socket errors of Node: ECONNREFUSED (nothing listens), ECONNRESET, EPIPE, ETIMEDOUT,
 *   EHOSTUNREACH, ENETUNREACH, ENETRESET, ENOTFOUND and EAI_AGAIN (the host name does not resolve);
 * - SQLSTATE class 08 (connection exception), 57P01 admin_shutdown (`pg_ctl stop -m fast`),
 *   57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or shutting down), 57P05
 *   idle_session_timeout, 53300 too_many_connections, and 57014 query_canceled (our
 *   statement_timeout, or an administrator cancelling);
 * - pg's own messages without a code: "Connection terminated unexpectedly", "Connection
 *   terminated due to connection timeout", "Client has encountered a connection error and is
 *   not queryable" (the next query on a client whose connection died, e.g. inside a
 *   transaction), "Client was closed and is not queryable", "Query read timeout" (the
 *   client-side query time-out), "timeout exceeded when trying to connect" (pool full), and
 *   "Cannot use a pool after calling end on the pool" (the server is shutting down);
 * - PGlite's "PGlite is closed" / "PGlite is closing" (a request still running at shutdown).
 */

const SOCKET_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

const SQLSTATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '57P05', '53300', '57014']);

const MESSAGES =
  /^(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|Query read timeout|timeout exceeded when trying to connect|Cannot use a pool after calling end|PGlite is clos(ed|ing))/i;

/** How deep to follow `cause`: drizzle wraps once; a guard or two may add more. */
const MAX_DEPTH = 8;

/** The error in the chain that says the database went away, or undefined when none does. */
export function connectionErrorOf(error: unknown): Error | undefined {
  let e: unknown = error;
  for (let depth = 0; e instanceof Error && depth < MAX_DEPTH; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (SOCKET_CODES.has(code) || SQLSTATES.has(code) || code.startsWith('08')))
      return e;
    // AggregateError: a host name resolving to several addresses, all refused.
    if (e instanceof AggregateError && e.errors.some((inner) => connectionErrorOf(inner) !== undefined))
      return e;
    if (MESSAGES.test(e.message)) return e;
  }
  return undefined;
}

/** True when the error (or one of its causes) means the database went away, not that a statement was wrong. */
export function isConnectionError(error: unknown): boolean {
  return connectionErrorOf(error) !== undefined;
}

/** What a client is told when the database cannot answer. */
export const DATABASE_UNREACHABLE = 'the database is not reachable';

/**
 * The database cannot answer, or is not ready. `message` says where it is and why (the host
 * and port, the data directory, the driver's words): for the operator, in the start-up error
 * and the log. A client of the HTTP API, who may not even have a key (GET /ready), gets
 * `publicMessage`, which names nothing of the deployment.
 */
export class DatabaseUnavailable extends ConnectrError {
  constructor(
    message: string,
    readonly publicMessage: string,
    options: Omit<ConnectrErrorOptions, 'details'> = {},
  ) {
    super('unavailable', message, options);
  }
}
