import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isConnectrError } from '../../core/errors.js';
import type { ErrorDetail, ErrorEnvelope } from '../errors.js';
import { ERROR_HEADER, FieldError, HttpError, envelope, httpStatusFor, jsonRpcErrorOf } from '../errors.js';
import { connectionErrorOf, isConnectionError } from '../store/outage.js';
import type { App } from '../types.js';
import { WWW_AUTHENTICATE } from './auth.js';
import { REQUEST_ID_HEADER } from './request-id.js';

/**
 * Every error becomes the envelope `{"error": {"code", "message", "details"}}` here and
 * nowhere else: ConnectrErrors by their code, schema validation failures naming each field,
 * the HTTP faults Fastify detects (malformed JSON, oversized bodies, unknown routes, wrong
 * methods), and anything unexpected as a 500 whose cause goes to the log only. A route with
 * `config.jsonRpcErrors` (POST /mcp) gets the envelope as the data of a JSON-RPC error.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Errors of this route are JSON-RPC errors carrying the envelope (POST /mcp). */
    readonly jsonRpcErrors?: boolean;
  }
}

interface Answer {
  readonly status: number;
  readonly body: ErrorEnvelope;
}

const VALIDATION_PLACES: Readonly<Record<string, string>> = {
  body: 'body',
  querystring: 'query',
  params: 'params',
  headers: 'headers',
};

/** Fastify's own 4xx errors, by code: their envelope code and message. */
function fastifyFault(error: FastifyError, bodyLimit: number): Answer | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: envelope(
          'payload_too_large',
          `the request body is larger than the limit of ${bodyLimit} bytes`,
          [],
          'send a smaller body',
        ),
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: envelope(
          'unsupported_media_type',
          'this route does not accept a body of that Content-Type',
          [],
          'send JSON with "Content-Type: application/json"',
        ),
      };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        body: envelope(
          'invalid_input',
          error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
            ? 'the body is empty but Content-Type says JSON'
            : 'the request body is not valid JSON',
          [{ field: 'body', message: error.message }],
          'send one JSON value, e.g. {"name": "value"}',
        ),
      };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return {
        status: 400,
        body: envelope('invalid_input', 'the Content-Length header does not match the body'),
      };
    default:
      return undefined;
  }
}

const DATABASE_HINT = 'retry in a few seconds; GET /ready says when the server can answer again';

export function toAnswer(error: unknown, bodyLimit: number): Answer {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const place = VALIDATION_PLACES[error.validationContext ?? 'body'] ?? 'body';
    const details: ErrorDetail[] = error.validation.map((issue) => {
      const path = issue.instancePath.split('/').filter(Boolean).join('.');
      return { field: path ? `${place}.${path}` : place, message: issue.message ?? 'is invalid' };
    });
    const fields = [...new Set(details.map((d) => d.field))].join(', ');
    return {
      status: 400,
      body: envelope(
        'invalid_input',
        `invalid ${fields}`,
        details,
        'fix the fields named in details; /docs shows what each route takes',
      ),
    };
  }
  if (error instanceof HttpError) {
    return { status: error.status, body: envelope(error.code, error.message, [], error.hint) };
  }
  if (isConnectrError(error) && error.code !== 'internal') {
    return {
      status: httpStatusFor(error.code),
      body: envelope(
        error.code,
        error.message,
        error instanceof FieldError
          ? [{ field: error.field, message: error.message }]
          : error.details.map((message) => ({ message })),
        error.hint,
      ),
    };
  }
  if (isFastifyError(error)) {
    const known = fastifyFault(error, bodyLimit);
    if (known) return known;
  }
  // A lost database that reached here unguarded is still an outage, not a bug.
  if (isConnectionError(error)) {
    return {
      status: 503,
      body: envelope('unavailable', 'the database is not reachable', [], DATABASE_HINT),
    };
  }
  return { status: 500, body: envelope('internal', 'internal error; the server log has the details') };
}

function isFastifyError(error: unknown): error is FastifyError {
  return (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    error.code.startsWith('FST_')
  );
}

async function sendAnswer(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
  bodyLimit: number,
): Promise<void> {
  const answer = toAnswer(error, bodyLimit);
  // An outage that reached here unguarded is logged by the driver's error alone: drizzle's
  // wrapper quotes the statement and its values.
  if (answer.status >= 500)
    request.log.error(
      { err: isConnectrError(error) ? error : (connectionErrorOf(error) ?? error) },
      'request failed',
    );
  else request.log.info({ code: answer.body.error.code, status: answer.status }, answer.body.error.message);
  if (answer.status === 401 && !reply.hasHeader('www-authenticate'))
    void reply.header('www-authenticate', WWW_AUTHENTICATE);
  // Unavailable (the database away, the server stopping): worth retrying, shortly.
  if (answer.status === 503 && !reply.hasHeader('retry-after')) void reply.header('retry-after', '1');
  // (No route matched, a 404: then there is no route config at all, whatever the types say.)
  const jsonRpc = !request.is404 && request.routeOptions.config.jsonRpcErrors === true;
  const body = jsonRpc ? jsonRpcErrorOf(answer.status, answer.body) : answer.body;
  await reply
    .header(ERROR_HEADER, '1')
    .code(answer.status)
    .type('application/json; charset=utf-8')
    .send(body);
}

/** Route templates turned into patterns, to tell "no such path" (404) from "not with this method" (405). */
class RouteTable {
  private readonly routes: { pattern: RegExp; methods: Set<string> }[] = [];

  add(url: string, methods: readonly string[]): void {
    const source = url
      .split('/')
      .map((segment) =>
        segment === '*'
          ? '.*'
          : segment.startsWith(':')
            ? '[^/]+'
            : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    const pattern = new RegExp(`^${source}$`);
    const existing = this.routes.find((r) => r.pattern.source === pattern.source);
    if (existing) for (const m of methods) existing.methods.add(m);
    else this.routes.push({ pattern, methods: new Set(methods) });
  }

  /** The methods some route answers at this path; empty when no route has the path. */
  methodsAt(path: string): string[] {
    const methods = new Set<string>();
    for (const route of this.routes)
      if (route.pattern.test(path)) for (const m of route.methods) methods.add(m);
    return [...methods].sort();
  }
}

export function installErrorHandling(app: App, bodyLimit: number): void {
  const table = new RouteTable();
  app.addHook('onRoute', (route) => {
    table.add(route.url, Array.isArray(route.method) ? route.method : [route.method]);
  });
  app.setErrorHandler(async (error, request, reply) => {
    await sendAnswer(request, reply, error, bodyLimit);
  });
  app.setNotFoundHandler(async (request, reply) => {
    void reply.header(ERROR_HEADER, '1');
    const path = request.url.split('?')[0] ?? '/';
    const allowed = table.methodsAt(path);
    if (allowed.length > 0) {
      void reply.header('allow', allowed.join(', '));
      await reply
        .code(405)
        .send(
          envelope(
            'method_not_allowed',
            `${request.method} is not allowed on ${path}`,
            [],
            `use ${allowed.join(', ')}`,
          ),
        );
      return;
    }
    await reply
      .code(404)
      .send(
        envelope(
          'not_found',
          `no route ${request.method} ${path}`,
          [],
          'the routes are listed at /docs and /openapi.json',
        ),
      );
  });
}

/**
 * Fastify's `frameworkErrors`: a URL it cannot decode, before any hook runs. Answered with the
 * envelope too, and the request id, since the request-id hook never saw it.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  void reply
    .code(400)
    .header(REQUEST_ID_HEADER, request.id)
    .header(ERROR_HEADER, '1')
    .type('application/json; charset=utf-8')
    .send(envelope('invalid_input', 'the request URL is malformed', [{ message: error.message }]));
}
