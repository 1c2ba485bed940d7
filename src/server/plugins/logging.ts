import type { FastifyRequest, FastifyServerOptions } from 'fastify';

/**
 * The server's log: Fastify's own pino logger, one JSON line per event. What is written about
 * a request is chosen here and nowhere else: method, route, URL with secret-looking query
 * values replaced, status, time. Never a header or a body, so an Authorization header, a
 * cookie or a token cannot reach the log by this path; the redact paths below catch the same
 * names wherever code logs an object by mistake.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Where log lines go: a stream (stderr in `connectr serve`, a buffer in tests). */
export interface LogDestination {
  write(line: string): unknown;
}

const SECRET_NAMES = [
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
  'apiKey',
  'key',
  'code_verifier',
  'encryption_key',
  'credentials',
];

/** pino redact paths: each name at the top level, one level down, and in headers. */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_NAMES.map((name) => `["${name}"]`),
  ...SECRET_NAMES.map((name) => `*["${name}"]`),
  ...SECRET_NAMES.map((name) => `*.headers["${name}"]`),
  'req.headers["x-api-key"]',
  'headers["x-api-key"]',
];

/** Query parameters whose values never reach the log (OAuth codes and state, tokens, keys). */
const SECRET_QUERY = new Set([
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
    redact: { paths: [...REDACT_PATHS], censor: '[REDACTED]' },
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
