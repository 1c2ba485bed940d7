/**
 * Typed errors. Every error this package throws is a ConnectrError: one subclass per code of
 * the server's error envelope `{"error": {"code", "message", "details", "hint"?}}`, plus
 * ConnectrConnectionError (no answer: refused, reset, DNS) and ConnectrTimeoutError (no answer
 * in time). Messages come from the server (which never puts a secret in one) or from this
 * package (which never puts the API key, a token or a request body in one).
 */

export interface ErrorDetail {
  /** The request field at fault, e.g. `body.connector_type`, `query.cursor`, `params.maxResults`. */
  readonly field?: string;
  readonly message: string;
}

export interface ConnectrErrorInit {
  /** HTTP status of the answer; undefined when there was none (connection error, time-out, client-side check). */
  readonly status?: number | undefined;
  readonly details?: readonly ErrorDetail[];
  readonly hint?: string | undefined;
  /** The server's `x-request-id` for this request, to find it in the server's log. */
  readonly requestId?: string | undefined;
  readonly cause?: unknown;
}

export class ConnectrError extends Error {
  /** The envelope's stable code (`not_found`, `invalid_input`...), or `connection_error` / `client_timeout`. */
  readonly code: string;
  readonly status: number | undefined;
  readonly details: readonly ErrorDetail[];
  readonly hint: string | undefined;
  readonly requestId: string | undefined;

  constructor(code: string, message: string, init: ConnectrErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = init.status;
    this.details = init.details ?? [];
    this.hint = init.hint;
    this.requestId = init.requestId;
  }

  /** The first field named in `details`, if any (e.g. `body.connector_type`). */
  get field(): string | undefined {
    return this.details.find((d) => d.field !== undefined)?.field;
  }
}

/** 400 `usage`: a malformed request (e.g. a malformed URL). */
export class UsageError extends ConnectrError {}
/** 400 `invalid_input`: a parameter or body field is missing or wrong; `details` names it. */
export class InvalidInputError extends ConnectrError {}
/** 400 `invalid_connector`: a connector definition is invalid. */
export class InvalidConnectorError extends ConnectrError {}
/** 401 `auth_required`: no API key, or an unknown or revoked one. */
export class AuthRequiredError extends ConnectrError {}
/** 401 `auth_expired`. */
export class AuthExpiredError extends ConnectrError {}
/** 403 `forbidden`: the API key may not do this (e.g. read tokens without --allow-token). */
export class ForbiddenError extends ConnectrError {}
/** 404 `not_found`: no such connector, endpoint or connection (or another project's). */
export class NotFoundError extends ConnectrError {}
/** 405 `method_not_allowed`. */
export class MethodNotAllowedError extends ConnectrError {}
/** 409 `conflict`: the resource is not in a state that allows this. */
export class ConflictError extends ConnectrError {}
/** 409 `needs_reauth`: the connection must be signed in (again) before it can call its API. */
export class NeedsReauthError extends ConnectrError {}
/** 413 `payload_too_large`. */
export class PayloadTooLargeError extends ConnectrError {}
/** 415 `unsupported_media_type`. */
export class UnsupportedMediaTypeError extends ConnectrError {}
/** 500 `internal`: a bug in the server; report it with `requestId`. */
export class InternalError extends ConnectrError {}
/** 502 `upstream`: the upstream API failed or could not be reached. */
export class UpstreamError extends ConnectrError {}
/** 503 `unavailable`: the server's database (or network) is unreachable; temporary. */
export class UnavailableError extends ConnectrError {}
/** 503 `cancelled`: the server is shutting down. */
export class CancelledError extends ConnectrError {}
/** 504 `timeout`: an operation on the server took too long (not this client's own time-out). */
export class ServerTimeoutError extends ConnectrError {}

/** No answer: the connection was refused, reset or cut, or the name did not resolve. */
export class ConnectrConnectionError extends ConnectrError {
  constructor(message: string, init: ConnectrErrorInit = {}) {
    super('connection_error', message, init);
  }
}

/** No (complete) answer within the client's time-out. */
export class ConnectrTimeoutError extends ConnectrError {
  constructor(message: string, init: ConnectrErrorInit = {}) {
    super('client_timeout', message, init);
  }
}

type ErrorClass = new (code: string, message: string, init?: ConnectrErrorInit) => ConnectrError;

/** The class and HTTP status of each envelope code (src/server/errors.ts on the server). */
export const ERROR_CLASSES: Readonly<Record<string, { readonly type: ErrorClass; readonly status: number }>> =
  Object.freeze(
    Object.assign(Object.create(null) as Record<string, { type: ErrorClass; status: number }>, {
      usage: { type: UsageError, status: 400 },
      invalid_input: { type: InvalidInputError, status: 400 },
      invalid_connector: { type: InvalidConnectorError, status: 400 },
      auth_required: { type: AuthRequiredError, status: 401 },
      auth_expired: { type: AuthExpiredError, status: 401 },
      forbidden: { type: ForbiddenError, status: 403 },
      not_found: { type: NotFoundError, status: 404 },
      method_not_allowed: { type: MethodNotAllowedError, status: 405 },
      conflict: { type: ConflictError, status: 409 },
      needs_reauth: { type: NeedsReauthError, status: 409 },
      payload_too_large: { type: PayloadTooLargeError, status: 413 },
      unsupported_media_type: { type: UnsupportedMediaTypeError, status: 415 },
      internal: { type: InternalError, status: 500 },
      upstream: { type: UpstreamError, status: 502 },
      // The API redirected (or linked a page) where the server does not follow; `code` says which.
      follow_refused: { type: UpstreamError, status: 502 },
      unavailable: { type: UnavailableError, status: 503 },
      cancelled: { type: CancelledError, status: 503 },
      timeout: { type: ServerTimeoutError, status: 504 },
    }),
  );

/** The envelope's `error` object, checked; undefined when `value` is not one. */
export function envelopeError(
  value: unknown,
): { code: string; message: string; details: ErrorDetail[]; hint: string | undefined } | undefined {
  if (typeof value !== 'object' || value === null || !Object.hasOwn(value, 'error')) return undefined;
  const error: unknown = (value as { error: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message, details, hint } = error as Record<string, unknown>;
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  const list: ErrorDetail[] = [];
  if (Array.isArray(details)) {
    for (const d of details.slice(0, 100) as unknown[]) {
      if (typeof d !== 'object' || d === null) continue;
      const { field, message: text } = d as Record<string, unknown>;
      if (typeof text !== 'string') continue;
      list.push(typeof field === 'string' ? { field, message: text } : { message: text });
    }
  }
  return { code, message, details: list, hint: typeof hint === 'string' ? hint : undefined };
}

/** The typed error for an envelope code. An unknown (newer) code gives a plain ConnectrError. */
export function errorFor(code: string, message: string, init: ConnectrErrorInit = {}): ConnectrError {
  const known = Object.hasOwn(ERROR_CLASSES, code) ? ERROR_CLASSES[code] : undefined;
  const type = known?.type ?? ConnectrError;
  return new type(code, message, { ...init, status: init.status ?? known?.status });
}
