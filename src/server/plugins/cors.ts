import { ConnectrError } from '../../core/errors.js';
import { ERROR_HEADER } from '../errors.js';
import { HOST_HEADER, browserMaySend } from '../../core/proxy/headers.js';
import type { App } from '../types.js';

/**
 * CORS: off unless origins are named (`--cors-origin`). Only exact origins are allowed, never a
 * wildcard; the API authenticates with a bearer key, not cookies, so credentials mode is never
 * enabled. A preflight from an allowed origin is answered here, before authentication (browsers
 * send it without the key); from any other origin it falls through to the usual 404/405.
 */

/** Every request header the API reads from clients (POST /mcp's Connection-Id and protocol version included). */
const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'x-request-id',
  HOST_HEADER,
  'connection-id',
  'connection_id',
  'mcp-protocol-version',
];
/**
 * What a page may read of an answer: connectr's own headers, and those a proxied answer's
 * caller follows (links, redirects, waits, validators, ranges). The raw proxy adds each
 * upstream answer's own header names (raw.ts).
 */
const EXPOSED_HEADERS = [
  'x-request-id',
  ERROR_HEADER,
  'www-authenticate',
  'retry-after',
  'allow',
  'link',
  'location',
  'content-location',
  'content-disposition',
  'content-range',
  'accept-ranges',
  'etag',
  'last-modified',
].join(', ');
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
const MAX_AGE_SECONDS = '600';
const PROXY_PATH = /^\/api\/v1\/connections\/[^/?#]+\/proxy\//;

/**
 * The request headers a preflight allows: the API's own, and on the raw proxy also each
 * requested one it may forward upstream (a Dropbox-API-Arg, a Range), since the API decides.
 */
function allowedHeaders(url: string, requested: string | undefined): string {
  if (!PROXY_PATH.test(url) || requested === undefined) return ALLOWED_HEADERS.join(', ');
  const names = new Set(ALLOWED_HEADERS);
  for (const name of requested.split(',').map((h) => h.trim().toLowerCase()))
    if (browserMaySend(name)) names.add(name);
  return [...names].join(', ');
}

/** `https://app.example.com` as typed, or an error saying what an origin is. */
export function parseCorsOrigin(value: string): string {
  const bad = (why: string): ConnectrError =>
    new ConnectrError('usage', `--cors-origin "${value}" is not an origin: ${why}`, {
      hint: 'give the exact scheme, host and port a browser sends, e.g. --cors-origin https://app.example.com (repeat the flag for several)',
    });
  if (value === '*' || value.includes('*')) throw bad('wildcards are not allowed; name each origin');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad('it is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('the scheme must be http or https');
  if (url.origin !== value)
    throw bad(`an origin has no path, query or trailing slash (did you mean ${url.origin}?)`);
  return url.origin;
}

export function installCors(app: App, origins: readonly string[]): void {
  if (origins.length === 0) return;
  const allowed = new Set(origins.map(parseCorsOrigin));
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    void reply.header('vary', 'Origin');
    if (origin === undefined || !allowed.has(origin)) return;
    void reply.header('access-control-allow-origin', origin);
    void reply.header('access-control-expose-headers', EXPOSED_HEADERS);
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      return reply
        .code(204)
        .header('access-control-allow-methods', ALLOWED_METHODS)
        .header(
          'access-control-allow-headers',
          allowedHeaders(request.url, request.headers['access-control-request-headers']),
        )
        .header('access-control-max-age', MAX_AGE_SECONDS)
        .send();
    }
  });
}
