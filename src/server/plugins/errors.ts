import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ConnectionError, FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isConnectrError } from '../../core/errors.js';
import type { EnvelopeCode, ErrorDetail, ErrorEnvelope } from '../errors.js';
import {
  ERROR_HEADER,
  FieldError,
  envelope,
  httpStatusFor,
  internalErrorMessage,
  jsonRpcErrorOf,
  loggedFault,
} from '../errors.js';
import { DATABASE_UNREACHABLE, DatabaseUnavailable, isConnectionError } from '../store/outage.js';
import type { App } from '../types.js';
import { WWW_AUTHENTICATE } from './auth.js';
import { JsonTooDeep } from './json-body.js';
import { REQUEST_ID_HEADER } from './request-id.js';

/**
 * Every error becomes the envelope `{"error": {"code", "message", "details"}}` here and
 * nowhere else: ConnectrErrors by their code, schema validation failures naming each field,
 * the HTTP faults Fastify detects (malformed JSON, oversized bodies, unknown routes, wrong
 * methods), and anything unexpected as a 500 whose cause goes to the log only. A route with
 * `config.jsonRpcErrors` (POST /mcp) gets the envelope as the data of a JSON-RPC error.
 *
 * Node's HTTP server and Fastify also answer some requests themselves, before any route or
 * hook: what the parser refuses (a method it does not know, a huge header, half a body, bad
 * framing), CONNECT, an `Expect` other than 100-continue. Those are answered here too, in the
 * envelope, so a client never has to parse a second error shape.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Errors of this route are JSON-RPC errors carrying the envelope (POST /mcp). */
    readonly jsonRpcErrors?: boolean;
    /** The route only answers 405 with its own words (GET /mcp): its method is not in Allow. */
    readonly refusesMethod?: boolean;
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

/** The media type of a Content-Type as it may be shown back: visible ASCII, bounded. */
function mediaType(contentType: string): string {
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  const shown = type.replace(/[^!-~]/g, '?');
  return shown.length > 100 ? `${shown.slice(0, 100)}...` : shown;
}

/** The envelope code of a 4xx status Fastify gives one of its own errors. */
const CODE_OF_STATUS: Readonly<Record<number, EnvelopeCode>> = {
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  417: 'expectation_failed',
  431: 'headers_too_large',
};

/** Fastify's own 4xx errors, by code: their envelope code and message. */
function fastifyFault(
  error: FastifyError,
  bodyLimit: number,
  contentType: string | undefined,
): Answer | undefined {
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
          `${contentType === undefined ? 'a body without a Content-Type' : `a body of type ${JSON.stringify(mediaType(contentType))}`} is not accepted: this route takes application/json`,
          [{ field: 'headers.content-type', message: 'expected application/json' }],
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
    default: {
      // Any other fault Fastify blames on the request stays a 4xx, in its words (they quote
      // nothing of the request): a client's mistake is never a 500.
      const status = error.statusCode;
      if (status === undefined || status < 400 || status > 499) return undefined;
      const code = CODE_OF_STATUS[status];
      return code === undefined
        ? { status: 400, body: envelope('invalid_input', error.message) }
        : { status, body: envelope(code, error.message) };
    }
  }
}

const DATABASE_HINT = 'retry in a few seconds; GET /ready says when the server can answer again';

/**
 * The answer to an error; `contentType` is the request's, to name it in a 415; `requestId`, the
 * one an unexpected error's message names (its cause is logged under it).
 */
export function toAnswer(
  error: unknown,
  bodyLimit: number,
  contentType?: string,
  requestId = 'unknown',
): Answer {
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
  // Where the database is (host, port, directory) and the operator's hint stay in the log.
  if (error instanceof DatabaseUnavailable) {
    return { status: 503, body: envelope('unavailable', error.publicMessage, [], DATABASE_HINT) };
  }
  if (isConnectrError(error) && error.code !== 'internal') {
    return {
      status: httpStatusFor(error.code),
      body: envelope(
        error.code,
        error.message,
        error instanceof FieldError ? error.fields : error.details.map((message) => ({ message })),
        error.hint,
      ),
    };
  }
  if (isFastifyError(error)) {
    const known = fastifyFault(error, bodyLimit, contentType);
    if (known) return known;
  }
  // A value PostgreSQL cannot store (a NUL) that no schema caught: still the client's value.
  if (isUnstorableText(error)) {
    return {
      status: 400,
      body: envelope(
        'invalid_input',
        'a value holds a character that cannot be stored (a NUL, U+0000)',
        [],
        'remove NUL characters from the request',
      ),
    };
  }
  // A lost database that reached here unguarded is still an outage, not a bug.
  if (isConnectionError(error)) {
    return {
      status: 503,
      body: envelope('unavailable', DATABASE_UNREACHABLE, [], DATABASE_HINT),
    };
  }
  return { status: 500, body: envelope('internal', internalErrorMessage(requestId)) };
}

/**
 * Node's "aborted" (ECONNRESET) of a request whose client closed the connection while its body
 * was being read: the client's doing, not a database reset (the same code), nor a 5xx.
 */
function clientWentAway(error: unknown, request: FastifyRequest): boolean {
  return (
    error instanceof Error &&
    error.message === 'aborted' &&
    (error as { code?: unknown }).code === 'ECONNRESET' &&
    request.raw.destroyed
  );
}

/** SQLSTATE 22021 (and 22P05): text PostgreSQL cannot hold, a NUL above all; drizzle wraps it once. */
function isUnstorableText(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === '22021' || code === '22P05') return true;
  }
  return false;
}

/** A body that is not JSON, or nests too deep to be read: JSON-RPC's parse error. */
function unreadableJson(error: unknown): boolean {
  return (
    error instanceof JsonTooDeep ||
    (isFastifyError(error) &&
      (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'))
  );
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
  table: RouteTable,
): Promise<void> {
  // No route matched, and Fastify refused the body (or QUERY's missing Content-Type) before
  // the not-found handler ran: the method or the path is the fault, whatever the body.
  if (request.is404 && isFastifyError(error) && (error.statusCode ?? 500) < 500) {
    await answerNoRoute(request, reply, table);
    return;
  }
  const answer = clientWentAway(error, request)
    ? {
        status: 400,
        body: envelope('invalid_input', 'the request ended before its body was complete', [
          { field: 'body', message: 'the connection closed while the body was read' },
        ]),
      }
    : toAnswer(error, bodyLimit, request.headers['content-type'], request.id);
  // An outage that reached here unguarded is logged by the driver's error alone: drizzle's
  // wrapper quotes the statement and its values.
  if (answer.status >= 500) request.log.error({ err: loggedFault(error) }, 'request failed');
  else request.log.info({ code: answer.body.error.code, status: answer.status }, answer.body.error.message);
  if (answer.status === 401 && !reply.hasHeader('www-authenticate'))
    void reply.header('www-authenticate', WWW_AUTHENTICATE);
  // A wait the error knows (a rate limit's next turn): Retry-After in whole seconds, at least 1.
  if (isConnectrError(error) && error.retryAfterMs !== undefined)
    void reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))));
  // Unavailable (the database away, the server stopping): worth retrying, shortly.
  if (answer.status === 503 && !reply.hasHeader('retry-after')) void reply.header('retry-after', '1');
  // (No route matched, a 404: then there is no route config at all, whatever the types say.)
  const jsonRpc = !request.is404 && request.routeOptions.config.jsonRpcErrors === true;
  const body = jsonRpc ? jsonRpcErrorOf(answer.status, answer.body, unreadableJson(error)) : answer.body;
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

  /** A 405 naming the methods the path has (for the Allow header), else a 404. */
  answerFor(method: string, path: string): Answer & { readonly allow?: string } {
    const allowed = this.methodsAt(path);
    // Shown back bounded: a path may be as long as the URL limit allows.
    const shown = path.length > 200 ? `${path.slice(0, 200)}...` : path;
    if (allowed.length > 0)
      return {
        status: 405,
        allow: allowed.join(', '),
        body: envelope(
          'method_not_allowed',
          `${method} is not allowed on ${shown}`,
          [],
          `use ${allowed.join(', ')}`,
        ),
      };
    return {
      status: 404,
      body: envelope(
        'not_found',
        `no route ${method} ${shown}`,
        [],
        'the routes are listed at /docs and /openapi.json',
      ),
    };
  }
}

async function answerNoRoute(request: FastifyRequest, reply: FastifyReply, table: RouteTable): Promise<void> {
  const answer = table.answerFor(request.method, request.url.split('?')[0] ?? '/');
  if (answer.allow !== undefined) void reply.header('allow', answer.allow);
  await reply
    .header(ERROR_HEADER, '1')
    .code(answer.status)
    .type('application/json; charset=utf-8')
    .send(answer.body);
}

/**
 * The error handling of one app: install() sets Fastify's handlers; `frameworkErrors` and
 * `clientErrorHandler` are Fastify options, so they exist before the app does.
 */
export interface ErrorHandling {
  install(app: App): void;
  readonly frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void;
  readonly clientErrorHandler: (error: ConnectionError, socket: Duplex) => void;
}

export function errorHandling(bodyLimit: number): ErrorHandling {
  const table = new RouteTable();
  let log: FastifyBaseLogger | undefined;

  /** An answer written on the socket itself, where Node has no response object (yet). */
  function answerOnSocket(socket: Duplex, answer: Answer & { readonly allow?: string }, why: string): void {
    const id = randomUUID();
    log?.info(
      { reqId: id, code: answer.body.error.code, status: answer.status, why },
      answer.body.error.message,
    );
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const text = JSON.stringify(answer.body);
    const head = [
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? 'Error'}`,
      `${REQUEST_ID_HEADER}: ${id}`,
      `${ERROR_HEADER}: 1`,
      ...(answer.allow === undefined ? [] : [`allow: ${answer.allow}`]),
      'content-type: application/json; charset=utf-8',
      `content-length: ${Buffer.byteLength(text)}`,
      'connection: close',
    ];
    socket.end(`${head.join('\r\n')}\r\n\r\n${text}`);
    // A client that never reads (or keeps sending) does not keep the socket.
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  /** What Node's parser refused, as Fastify would have answered it (408, 431, 400), in the envelope. */
  function clientErrorHandler(error: ConnectionError, socket: Duplex): void {
    // The client is gone: there is no one to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    answerOnSocket(socket, clientFault(error, table), error.code);
  }

  function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
    void reply
      .code(400)
      .header(REQUEST_ID_HEADER, request.id)
      .header(ERROR_HEADER, '1')
      .type('application/json; charset=utf-8')
      .send(envelope('invalid_input', 'the request URL is malformed', [{ message: error.message }]));
  }

  function install(app: App): void {
    log = app.log;
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      table.add(route.url, route.config?.refusesMethod === true ? [] : methods);
    });
    // Only JSON is parsed: a body of any other type is a 415, text/plain as much as XML.
    app.removeContentTypeParser('text/plain');
    app.setErrorHandler(async (error, request, reply) => {
      await sendAnswer(request, reply, error, bodyLimit, table);
    });
    app.setNotFoundHandler(async (request, reply) => {
      await answerNoRoute(request, reply, table);
    });
    // CONNECT: without a listener Node closes the connection without a word. No route tunnels.
    app.server.on('connect', (request: IncomingMessage, socket: Duplex) => {
      const target = request.url ?? '';
      answerOnSocket(
        socket,
        {
          status: 405,
          body: envelope(
            'method_not_allowed',
            'CONNECT is not allowed: this server is not a proxy',
            [],
            'send a request to one of the routes listed at /openapi.json',
          ),
        },
        `CONNECT ${target.slice(0, 200)}`,
      );
    });
    // An Expect Node does not know: Node would answer an empty 417 itself.
    app.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
      const body = envelope(
        'expectation_failed',
        'the Expect header can only be "100-continue"',
        [{ field: 'headers.expect', message: 'expected 100-continue' }],
        'leave the Expect header out',
      );
      const id = randomUUID();
      log?.info(
        { reqId: id, code: body.error.code, status: 417, url: request.url?.split('?')[0] },
        body.error.message,
      );
      const text = JSON.stringify(body);
      response
        .writeHead(417, {
          [REQUEST_ID_HEADER]: id,
          [ERROR_HEADER]: '1',
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(text),
          connection: 'close',
        })
        .end(text);
    });
  }

  return { install, frameworkErrors, clientErrorHandler };
}

/** A request line as far as the parser may have refused it: the method and the path. */
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}) (\/[^\s?#]*)[^\s]* HTTP\/1\.[01]\r?\n/;

function clientFault(error: ConnectionError, table: RouteTable): Answer & { readonly allow?: string } {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        body: envelope(
          'request_timeout',
          'the request did not arrive in time',
          [],
          'send the whole request at once, then wait',
        ),
      };
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        body: envelope(
          'headers_too_large',
          'the request headers are larger than the server accepts (16 KiB in all)',
          [],
          'send fewer or shorter headers',
        ),
      };
    case 'HPE_INVALID_METHOD': {
      // A method Node's parser does not know (FOO): the path may still be read, and a route
      // there makes it a 405 with Allow, as for a method Node knows.
      const raw: unknown = error.rawPacket;
      const line = Buffer.isBuffer(raw) ? REQUEST_LINE.exec(raw.subarray(0, 8192).toString('latin1')) : null;
      if (line?.[1] !== undefined && line[2] !== undefined) return table.answerFor(line[1], line[2]);
      return malformed(error);
    }
    case 'HPE_INVALID_EOF_STATE':
      return {
        status: 400,
        body: envelope(
          'invalid_input',
          'the request ended before its body was complete',
          [{ field: 'body', message: 'shorter than its Content-Length' }],
          'send as many bytes as Content-Length says',
        ),
      };
    default:
      return malformed(error);
  }
}

function malformed(error: ConnectionError): Answer {
  // llhttp's reasons are fixed phrases ("Invalid method encountered"): nothing of the request.
  const reason = error.message.replace(/^Parse Error: /, '');
  return {
    status: 400,
    body: envelope(
      'invalid_input',
      'the request is not valid HTTP/1.1',
      [{ message: reason }],
      'check the request line, the headers and the body framing',
    ),
  };
}
