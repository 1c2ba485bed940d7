import type { FastifyRequest, FastifyServerOptions } from 'fastify';
import type { App } from '../types.js';

/**
 * The server's log: Fastify's own pino logger, one JSON line per event, and one line per
 * request once it is answered (`installAccessLog`; Fastify's own two lines per request are
 * off). What is written about a request is chosen here and nowhere else: method, route, URL
 * with secret-looking query values replaced, status, time. Never a header or a body, so an Authorization header, a
 * cookie or a token cannot reach the log by this path; `redactSecrets` catches the same names
 * wherever code logs an object by mistake.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Where log lines go: a stream (stderr in `connectr serve`, a buffer in tests). */
export interface LogDestination {
  write(line: string): unknown;
}

/** Names whose values never reach the log, in any case ("Authorization", "API_KEY"). */
const SECRET_NAMES = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'client_secret',
  'secret',
  'password',
  'api_key',
  'apikey',
  'x-api-key',
  'key',
  'code_verifier',
  'encryption_key',
  'credentials',
]);

const CENSOR = '[REDACTED]';

/** Made by the serializers below from chosen fields only: nothing in them to hide. */
const SERIALIZED = new Set(['req', 'res']);

/** Plain objects and errors are looked into; class instances (a request, a stream) are not. */
function walkable(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || value instanceof Error;
}

/**
 * Hides the values of secret-named fields in what is logged, a safety net for an object logged
 * by mistake: at the top level, one level down, and in a `headers` object one level down
 * (`{ err: { headers: { authorization } } }`). Returns the object itself when there is
 * nothing to hide, else a copy; never changes what it is given. Used as pino's `log` and
 * `bindings` formatters: pino's own `redact` paths with wildcards ran on every field of every
 * line, and cost more than the rest of a proxied request.
 */
export function redactSecrets(object: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const name of Object.keys(object)) {
    if (depth === 0 && SERIALIZED.has(name)) continue;
    const value = object[name];
    let safe = value;
    if (SECRET_NAMES.has(name.toLowerCase())) safe = CENSOR;
    else if (walkable(value) && (depth === 0 || (depth === 1 && name.toLowerCase() === 'headers')))
      safe = redactSecrets(value, depth + 1);
    if (safe !== value) {
      copy ??= copyOf(object);
      copy[name] = safe;
    }
  }
  return copy ?? object;
}

/** An Error's own fields and its message and stack (not enumerable), as a plain object. */
function copyOf(object: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...object };
  if (object instanceof Error) {
    copy.type = object.name;
    copy.message = object.message;
    copy.stack = object.stack;
  }
  return copy;
}

/** Query parameters whose values never reach the log (OAuth codes and state, tokens, keys). */
export const SECRET_QUERY: ReadonlySet<string> = new Set([
  'code',
  'state',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'api_key',
  'apikey',
  'key',
  'client_secret',
  'password',
  'secret',
  'signature',
  'sig',
]);

/** `/x?code=abc&page=2` -> `/x?code=[REDACTED]&page=2`; the path is kept as sent. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // a malformed escape: judge the name as written
      }
      return eq >= 0 && SECRET_QUERY.has(decoded.toLowerCase()) ? `${name}=[REDACTED]` : pair;
    })
    .join('&');
  return `${url.slice(0, q)}?${query}`;
}

export function loggerOptions(
  level: LogLevel,
  stream: LogDestination,
): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    stream,
    formatters: { log: (object) => redactSecrets(object), bindings: (bindings) => redactSecrets(bindings) },
    serializers: {
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: redactUrl(request.url),
        route: request.routeOptions.url,
        remoteAddress: request.ip,
      }),
      res: (reply: { readonly statusCode: number }) => ({ statusCode: reply.statusCode }),
    },
  };
}

/**
 * One `info` line per answered request: the request (as the `req` serializer shows it), its
 * status and how long it took, in ms. In place of Fastify's "incoming request" and "request
 * completed" pair, which doubled the log's cost per request.
 */
export function installAccessLog(app: App): void {
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
    done();
  });
}
