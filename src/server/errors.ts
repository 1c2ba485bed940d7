import * as z from 'zod';
import { isConnectrError } from '../core/errors.js';
import type { ErrorCode } from '../core/errors.js';
import type { ErrorDetail } from '../core/field-error.js';
import { connectionErrorOf } from './store/outage.js';

export { FieldError } from '../core/field-error.js';
export type { ErrorDetail } from '../core/field-error.js';

/**
 * The one error shape every route answers with, and the one place a ConnectrError code
 * becomes an HTTP status. Programs read `error.code` (stable); people read `message`,
 * `details` (one entry per problem, naming the field when there is one) and `hint`.
 */

/**
 * Codes beyond ConnectrError's, for faults of the HTTP exchange itself that the error plugin
 * answers (plugins/errors.ts) and nothing throws: whatever a route or a service refuses is a
 * ConnectrError, mapped by httpStatusFor.
 */
export const HTTP_ONLY_CODES = [
  'method_not_allowed',
  /** The request did not arrive in time (408). */
  'request_timeout',
  'unsupported_media_type',
  /** An `Expect` header other than 100-continue (417). */
  'expectation_failed',
  /** The request's headers are larger than the server reads (431). */
  'headers_too_large',
] as const;
export type EnvelopeCode = ErrorCode | (typeof HTTP_ONLY_CODES)[number];

export interface ErrorEnvelope {
  readonly error: {
    readonly code: EnvelopeCode;
    readonly message: string;
    readonly details: readonly ErrorDetail[];
    readonly hint?: string;
  };
}

export const ErrorEnvelopeSchema = z
  .object({
    error: z.object({
      code: z
        .string()
        .describe('Stable machine-readable code, e.g. invalid_input, not_found, auth_required.'),
      message: z.string().describe('What went wrong, for people.'),
      details: z
        .array(
          z.object({
            field: z
              .string()
              .optional()
              .describe('The request field at fault, e.g. params.name or body.user_id.'),
            message: z.string(),
          }),
        )
        .describe('One entry per problem; empty when there is nothing to add.'),
      hint: z.string().optional().describe('How to fix it, when known.'),
    }),
  })
  .describe('Every error answer: {"error": {"code", "message", "details"}}.');

/** The HTTP status for each ConnectrError code: the only mapping there is. */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case 'usage':
    case 'invalid_input':
    case 'invalid_connector':
      return 400;
    case 'auth_required':
    case 'auth_expired':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
    case 'not_acceptable':
      return 406;
    // The connection exists, but not in a state that allows this (409, not a 401: the API key was fine).
    case 'conflict':
    case 'needs_reauth':
      return 409;
    case 'payload_too_large':
      return 413;
    case 'too_many_sign_ins':
    case 'rate_limited':
      return 429;
    case 'upstream':
    case 'follow_refused':
    case 'refreshed_token_rejected':
      return 502;
    // The server is stopping (or the caller went away): try again, elsewhere.
    case 'cancelled':
    case 'unavailable':
      return 503;
    case 'timeout':
      return 504;
    case 'internal':
      return 500;
  }
}

/**
 * On every answer connectr makes itself with the error envelope (`x-connectr-error: 1`), and on
 * no other: a raw-proxy caller tells the proxy's own 4xx/5xx from the upstream's by it.
 */
export const ERROR_HEADER = 'x-connectr-error';

/**
 * What the log gets of a failure: a ConnectrError as it is; anything else, when the database
 * went away, by the driver's error alone (drizzle's wrapper quotes the statement and its values).
 */
export function loggedFault(error: unknown): unknown {
  return isConnectrError(error) ? error : (connectionErrorOf(error) ?? error);
}

/**
 * The message of an error the server did not expect: its cause (a database error quotes its
 * statement and values) goes to the log only, found there by the request id.
 */
export function internalErrorMessage(requestId: string): string {
  return `internal error (request ${requestId}); the server log has the details`;
}

export function envelope(
  code: EnvelopeCode,
  message: string,
  details: readonly ErrorDetail[] = [],
  hint?: string,
): ErrorEnvelope {
  return { error: { code, message, details, ...(hint === undefined ? {} : { hint }) } };
}

/**
 * An error answer of `POST /mcp`, where the callers are MCP clients: a JSON-RPC error (id null,
 * as the MCP SDKs answer what they refuse over HTTP) whose message is the envelope's, so the
 * client shows the reason; the envelope's code, details and hint are its data. The HTTP status
 * stays what it would be anywhere else.
 */
export interface JsonRpcErrorAnswer {
  readonly jsonrpc: '2.0';
  readonly id: null;
  readonly error: { readonly code: number; readonly message: string; readonly data: ErrorEnvelope['error'] };
}

/**
 * JSON-RPC's "server error" (-32000: the request was refused) and "internal error" (-32603);
 * `parseError`: the body could not be read as JSON (or nests too deep), JSON-RPC's -32700.
 */
export function jsonRpcErrorOf(status: number, body: ErrorEnvelope, parseError = false): JsonRpcErrorAnswer {
  const code = parseError ? -32700 : status >= 500 ? -32603 : -32000;
  return { jsonrpc: '2.0', id: null, error: { code, message: body.error.message, data: body.error } };
}

export const JsonRpcErrorSchema = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: z.null(),
    error: z.object({
      code: z
        .number()
        .int()
        .describe(
          '-32000 for a refused request, -32700 for a body that is not JSON or nests too deep, -32603 for a server fault.',
        ),
      message: z.string().describe('What went wrong, for people.'),
      data: ErrorEnvelopeSchema.shape.error.describe('The error envelope: code, message, details, hint.'),
    }),
  })
  .describe('An error of the MCP endpoint: a JSON-RPC error whose data is the error envelope.');

/** The responses every authenticated route may give besides its own, for its OpenAPI entry. */
export const COMMON_ERRORS = {
  400: ErrorEnvelopeSchema,
  401: ErrorEnvelopeSchema,
  500: ErrorEnvelopeSchema,
  503: ErrorEnvelopeSchema,
} as const;
