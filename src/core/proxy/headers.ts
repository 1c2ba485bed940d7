import type { IncomingHttpHeaders } from 'node:http';
import type { Connector } from '../connector/model.js';
import { FieldError } from '../field-error.js';

/**
 * Which headers cross the raw proxy in each direction: what the caller sends that goes
 * upstream (never its key, cookies, forwarding trails or framing; never a header that would
 * rewrite the URL or method past the proxy's checks), and what comes back (never cookies or
 * the proxy's own x-connectr-*).
 */

/** The request header that picks one of the connector's hosts by key; never forwarded. */
export const HOST_HEADER = 'x-connectr-host';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the proxy's own: never cross in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'http2-settings',
]);

/** Standard request headers forwarded as the caller sent them. */
const FORWARDED_REQUEST_HEADERS = new Set([
  'accept',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-length',
  'content-md5',
  'content-range',
  'content-type',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'prefer',
  'range',
]);

/** Never forwarded, whatever else says so: the caller's key, cookies, forwarding trails. */
function neverForwarded(name: string): boolean {
  return (
    HOP_BY_HOP.has(name) ||
    name.startsWith('proxy-') ||
    name === 'authorization' ||
    name === 'cookie' ||
    name === 'host' ||
    name === 'forwarded' ||
    name === 'via' ||
    name === 'x-real-ip' ||
    name.startsWith('x-forwarded-') ||
    name.startsWith('x-connectr-') ||
    name === 'x-request-id'
  );
}

/**
 * Headers with which servers behind the host replace the request's URL or method: IIS's URL
 * Rewrite and Symfony's old request (`X-Original-URL`, `X-Rewrite-URL`), and the method
 * overrides of Symfony, Laravel, Spring, Google and ASP.NET front-ends. Forwarded, they would
 * take a request out of the base path the proxy checked, or past the method it was sent with;
 * refused, not dropped, so a caller relying on one learns it has no effect.
 */
const REFUSED_REQUEST_HEADERS = new Set([
  'x-original-url',
  'x-rewrite-url',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
]);

/** A header name as RFC 9110 allows it (a token), lower case. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/**
 * Whether a browser may send this header to the raw proxy (its CORS preflight): any the proxy
 * may forward for some connector (a connector's own headers can be any name), and its own
 * `x-connectr-host`; never one it always drops.
 */
export function browserMaySend(name: string): boolean {
  return (
    HEADER_NAME.test(name) &&
    (name === HOST_HEADER || (!neverForwarded(name) && !REFUSED_REQUEST_HEADERS.has(name)))
  );
}

const providerHeadersOf = new WeakMap<Connector, ReadonlySet<string>>();

/** The header names a connector's endpoints send (declared header params, fixed headers, JSON-argument headers). */
export function providerHeaders(connector: Connector): ReadonlySet<string> {
  // Asked on every proxied request; a connector's definition does not change while it is loaded.
  const known = providerHeadersOf.get(connector);
  if (known) return known;
  const names = new Set<string>();
  for (const endpoint of connector.endpoints) {
    for (const param of endpoint.params) if (param.in === 'header') names.add(param.wireName.toLowerCase());
    for (const name of Object.keys(endpoint.headers ?? {})) names.add(name.toLowerCase());
    if (endpoint.request?.json_header) names.add(endpoint.request.json_header.toLowerCase());
  }
  providerHeadersOf.set(connector, names);
  return names;
}

/**
 * The headers sent upstream: the allow-list above, any `x-…` header (but `x-forwarded-*`,
 * `x-real-ip`, `x-request-id`, `x-connectr-*`), and the headers the connector's own endpoints
 * send (Dropbox-API-Arg…). Minus anything named in `Connection`, and minus the header the
 * credential goes in (the proxy sets it). A CR, LF or NUL in any header value is refused
 * before anything is sent.
 */
export function forwardedRequestHeaders(
  incoming: IncomingHttpHeaders,
  provider: ReadonlySet<string>,
  credentialHeader: string | undefined,
): Record<string, string> {
  const connectionTokens = new Set(
    headerList(incoming.connection)
      .flatMap((v) => v.split(','))
      .map((v) => v.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(incoming)) {
    const name = rawName.toLowerCase();
    const values = headerList(value);
    for (const v of values) {
      // eslint-disable-next-line no-control-regex
      if (/[\r\n\u0000]/.test(v)) {
        throw new FieldError(`headers.${name}`, `the ${name} header contains a line break or NUL`, {
          hint: 'send each header value on one line',
        });
      }
    }
    if (REFUSED_REQUEST_HEADERS.has(name)) {
      const what = name.endsWith('-url') ? 'the URL' : 'the method';
      throw new FieldError(
        `headers.${name}`,
        `the ${name} header is refused: servers behind some APIs read it as ${what} of the request`,
        {
          hint: name.endsWith('-url')
            ? 'leave the header out and put the path you want after /proxy/'
            : 'leave the header out and send the request with the method you mean',
        },
      );
    }
    if (neverForwarded(name) || connectionTokens.has(name) || name === credentialHeader) continue;
    const allowed = FORWARDED_REQUEST_HEADERS.has(name) || name.startsWith('x-') || provider.has(name);
    if (!allowed || values.length === 0) continue;
    out[name] = values.join(', ');
  }
  return out;
}

function headerList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Response headers never passed back: hop-by-hop ones, cookies, and what the proxy decides
 * itself, `x-connectr-*` included (an upstream's `x-connectr-error` would pass its answer off as
 * the proxy's own).
 */
function droppedResponseHeader(name: string): boolean {
  return (
    HOP_BY_HOP.has(name) ||
    name.startsWith('proxy-') ||
    name === 'set-cookie' ||
    name === 'set-cookie2' ||
    name === 'alt-svc' ||
    name === 'x-request-id' ||
    name.startsWith('x-connectr-') ||
    name.startsWith('access-control-')
  );
}

/** The upstream response's headers as they go back to the caller. */
export function returnedResponseHeaders(
  upstream: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const connectionTokens = new Set(
    headerList(upstream.connection)
      .flatMap((v) => v.split(','))
      .map((v) => v.trim().toLowerCase()),
  );
  for (const [rawName, value] of Object.entries(upstream)) {
    const name = rawName.toLowerCase();
    if (value === undefined || droppedResponseHeader(name) || connectionTokens.has(name)) continue;
    out[name] = value;
  }
  return out;
}
