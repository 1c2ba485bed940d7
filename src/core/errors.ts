/**
 * Every failure a user can cause or meet is a ConnectrError: a stable code for programs,
 * a message for humans and a hint that says how to fix it. Front-ends map the code once
 * (exit code in the CLI, HTTP status in the server); nothing below them decides that.
 */
export const ERROR_CODES = [
  /** The command line itself is wrong (unknown flag, missing argument). */
  'usage',
  /** An input value is wrong: a parameter, a file, a connector definition. */
  'invalid_input',
  /** A connector definition does not validate. */
  'invalid_connector',
  /** Something named does not exist (connector, endpoint, account). */
  'not_found',
  /** No usable credentials: log in first. */
  'auth_required',
  /** Credentials exist but were rejected or expired beyond refresh. */
  'auth_expired',
  /**
   * A stored connection cannot call its API until it is signed in (again): no credential, or
   * its refresh was refused (the daemon's connections; a CLI account says auth_expired).
   */
  'needs_reauth',
  /**
   * The API refused a token obtained moments ago (signed in or refreshed): it is not refreshed
   * again within the refresh window (core/auth/refresh-protocol.ts).
   */
  'refreshed_token_rejected',
  /** The upstream API answered with an error. */
  'upstream',
  /**
   * The API redirected (or linked the next page) to where connectr does not follow: outside the
   * connector's hosts, or to an internal address (engine/follow.ts).
   */
  'follow_refused',
  /** The network or a local service (keychain, database) could not be reached. */
  'unavailable',
  /** The operation timed out. */
  'timeout',
  /** The user interrupted the operation (Ctrl-C). */
  'cancelled',
  /** The caller may not do this (e.g. an API key made without --allow-token reading a token). */
  'forbidden',
  /** The resource is not in a state that allows this (e.g. its connector is no longer defined). */
  'conflict',
  /** A project has as many browser sign-ins pending as it may have. */
  'too_many_sign_ins',
  /**
   * A call would wait longer than it may for its turn under a rate limit connectr keeps
   * (core/limits): nothing was sent; `retryAfterMs` says when to try again.
   */
  'rate_limited',
  /** A request body is larger than the limit. */
  'payload_too_large',
  /** The caller does not accept any form of the answer (e.g. an Accept header without it). */
  'not_acceptable',
  /** A bug in connectr. */
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ConnectrErrorOptions {
  hint?: string | undefined;
  /** Extra lines shown under the message (e.g. one line per validation problem). */
  details?: readonly string[] | undefined;
  cause?: unknown;
  /** When trying again may succeed (ms from now): a server answers it as Retry-After. */
  retryAfterMs?: number | undefined;
}

export class ConnectrError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: readonly string[];
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: ConnectrErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConnectrError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? [];
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isConnectrError(error: unknown): error is ConnectrError {
  return error instanceof ConnectrError;
}

/** The message of anything thrown, for wrapping foreign errors without losing their words. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
