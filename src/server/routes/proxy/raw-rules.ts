import type { IncomingHttpHeaders } from 'node:http';
import type { Connector, Host } from '../../../core/connector/model.js';
import { effectiveHostUrl } from '../../../core/connector/model.js';
import type { Env } from '../../../core/paths.js';
import { FieldError } from '../../errors.js';

/**
 * The rules of the raw proxy (`/api/v1/connections/{id}/proxy/{path}`), apart from the route so
 * they are tested on their own: which of the connector's hosts a request goes to, the upstream
 * URL (never outside the host's base path), and which headers cross in each direction.
 */

/** The request header that picks one of the connector's hosts by key; never forwarded. */
export const HOST_HEADER = 'x-connectr-host';

/**
 * The host a request goes to: the one named by `x-connectr-host` (a key of the connector's
 * `hosts`), else the connector's first (default) host. Never a URL the caller gives.
 */
export function chooseHost(connector: Connector, requested: string | undefined): Host {
  const keys = connector.hosts.map((h) => h.key);
  if (requested === undefined || requested === '') {
    const first = connector.hosts[0];
    if (first) return first;
    throw new FieldError('params.id', `connector ${connector.name} declares no host`);
  }
  const host = connector.hosts.find((h) => h.key === requested);
  if (host) return host;
  throw new FieldError(
    `headers.${HOST_HEADER}`,
    `${connector.name} has no host ${JSON.stringify(requested.slice(0, 100))}`,
    { hint: `name one of its hosts: ${keys.join(', ')} (or leave the header out for ${keys[0] ?? 'none'})` },
  );
}

const PATH_FIELD = 'params.path';

/**
 * The raw path after `/proxy/` and the raw query, as the caller wrote them (still encoded),
 * from a request target in origin form (`/api/v1/connections/{id}/proxy/{path}?{query}`).
 *
 * A target in absolute form (`http://other.host/api/v1/…`, what a client sends a forward
 * proxy) is refused rather than resolved. The router matches it by the path after the
 * authority; resolving it here too would make the path sent upstream depend on two parsers
 * agreeing on where that path starts (`http://a?b/…`, `http://u@a/…`), and on an authority
 * that may contradict the Host header the proxy's links are built from. No client sends it to
 * a server that is not a forward proxy, which connectr is not (CONNECT is a 405 too).
 */
export function splitProxyUrl(url: string): { path: string; query: string } {
  if (!url.startsWith('/')) {
    throw new FieldError(
      'url',
      'the request target is an absolute URL: connectr serve is not a forward proxy',
      {
        hint: 'send the path only, as in GET /api/v1/connections/{id}/proxy/{path} with a Host header (the form HTTP clients use when no proxy is configured)',
      },
    );
  }
  const q = url.indexOf('?');
  const pathname = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q + 1);
  // /api/v1/connections/{id}/proxy/{path}: the path is what follows the sixth slash.
  let at = -1;
  for (let i = 0; i < 6; i++) {
    at = pathname.indexOf('/', at + 1);
    if (at === -1) return { path: '', query };
  }
  return { path: pathname.slice(at + 1), query };
}

const PERCENT_RUN = /(?:%[0-9a-f]{2})+/gi;

/**
 * Bytes as the loosest UTF-8 decoder would read them: well-formed sequences as their character,
 * overlong ones too (`%C0%AE` is "." to the decoders that once let it through), any other byte
 * as the Latin-1 character of the same value.
 */
function looseUtf8(bytes: readonly number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const lead = bytes[i] ?? 0;
    const length = lead >= 0xf0 && lead <= 0xf7 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    const tail = bytes.slice(i + 1, i + length);
    const wellFormed =
      length > 1 && lead <= 0xf7 && tail.length === length - 1 && tail.every((b) => (b & 0xc0) === 0x80);
    if (!wellFormed) {
      out += String.fromCharCode(lead);
      i++;
      continue;
    }
    let point = lead & (0xff >> (length + 1));
    for (const b of tail) point = (point << 6) | (b & 0x3f);
    out += point > 0x10ffff ? String.fromCharCode(lead) : String.fromCodePoint(point);
    i += point > 0x10ffff ? 1 : length;
  }
  return out;
}

/** Percent-decodes once, each run of escapes as UTF-8 (loosely); malformed escapes stay as they are. */
function decodeOnce(text: string): string {
  return text.replace(PERCENT_RUN, (run) => {
    const bytes: number[] = [];
    for (let i = 0; i < run.length; i += 3) bytes.push(parseInt(run.slice(i + 1, i + 3), 16));
    return looseUtf8(bytes);
  });
}

/** One way a server may read a piece of a URL, and how it came to read it so. */
interface Reading {
  readonly text: string;
  readonly how: string;
}

/** How many rounds of decoding the checks follow: any depth a server would plausibly decode. */
const DECODING_ROUNDS = 5;
const TIMES = ['', 'once', 'twice'];

/** Printable ASCII but "%": a segment with no reading but itself. */
const PLAIN = /^[\x20-\x24\x26-\x7e]*$/;

/**
 * Every way a server may read a piece of a URL the caller wrote: as written, Unicode-normalised
 * (NFKC, which maps the fullwidth "．", "․", "﹒" to "." and "‥" to ".."), percent-decoded once,
 * twice…, and each of those normalised; until nothing changes. Undefined when it still changes
 * after DECODING_ROUNDS rounds.
 */
export function readingsOf(text: string): Reading[] | undefined {
  // The usual segment, on every proxied request: printable ASCII without "%" has no other
  // reading (NFKC leaves it as it is, and there is nothing to decode).
  if (PLAIN.test(text)) return [{ text, how: 'as written' }];
  const readings: Reading[] = [];
  let current = text;
  for (let round = 0; round < DECODING_ROUNDS; round++) {
    const how = round === 0 ? 'as written' : `percent-decoded ${TIMES[round] ?? `${round} times`}`;
    readings.push({ text: current, how });
    // Normalised before decoding, as well: a fullwidth "％２ｅ" is "%2e" to such a server.
    const normal = current.normalize('NFKC');
    if (normal !== current)
      readings.push({
        text: normal,
        how: round === 0 ? 'Unicode-normalised (NFKC)' : `${how}, then Unicode-normalised (NFKC)`,
      });
    const next = decodeOnce(normal);
    if (next === normal) return readings;
    current = next;
  }
  return undefined;
}

function refusePath(why: string): never {
  throw new FieldError(PATH_FIELD, `the proxied path ${why}`, {
    hint:
      "give a path below the host's base URL, without '.' or '..' segments in any form " +
      "(percent-encoded, fullwidth or other Unicode dots, or followed by a ';' parameter), backslashes or '//'",
  });
}

/**
 * Checks the raw (still percent-encoded) path the caller gave after `/proxy/`, each segment as
 * any server on the way may read it (readingsOf): no `.` or `..` segment, including one with a
 * `;` parameter (`..;/` is `..` to Tomcat and Spring) or made of Unicode dots; no backslash
 * (some servers treat it as a separator); no empty segment (`//host` is an authority to some
 * parsers); no control characters; no fragment. A refusal names the segment as written.
 */
export function checkProxyPath(raw: string): void {
  if (raw.includes('#')) refusePath('contains "#"');
  const segments = raw.split('/');
  segments.forEach((segment, i) => {
    const shown = JSON.stringify(segment.slice(0, 100));
    const readings = readingsOf(segment);
    if (!readings) refusePath(`segment ${shown} is encoded too many times`);
    for (const { text, how } of readings) {
      if (text.includes('\\')) refusePath(`segment ${shown} contains a backslash (${how})`);
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(text))
        refusePath(`segment ${shown} contains a control character (${how})`);
      // An encoded "/" makes several segments of one to a server that decodes it.
      const parts = text.split('/');
      parts.forEach((part, j) => {
        const name = part.split(';')[0];
        if (name === '.' || name === '..') {
          const parameter = part === name ? '' : ', its ";" parameter dropped';
          refusePath(
            `segment ${shown} is a ${JSON.stringify(name)} segment (${how}${parameter}), which leads out of the base path`,
          );
        }
        // A trailing slash is fine (`/files/`); an empty segment anywhere else is not.
        const final = i === segments.length - 1 && j === parts.length - 1;
        if (part === '' && !final) refusePath('contains an empty segment ("//")');
      });
    }
  });
}

/**
 * The upstream URL, without the query: the host's base URL (with its environment override), the
 * path appended to its base path. Checked again once built: the same origin, and a path still
 * under the base path after the URL parser's normalisation.
 */
export function proxyTarget(host: Host, env: Env, rawPath: string): URL {
  checkProxyPath(rawPath);
  const base = new URL(effectiveHostUrl(host, env));
  const basePath = base.pathname.replace(/\/+$/, '');
  const target = new URL(`${base.origin}${basePath}/${rawPath}`);
  const inside =
    target.origin === base.origin &&
    (target.pathname === basePath || target.pathname.startsWith(`${basePath}/`)) &&
    target.username === '' &&
    target.password === '' &&
    target.search === '' &&
    target.hash === '';
  if (!inside) refusePath(`leaves ${base.origin}${basePath}/`);
  return target;
}

/**
 * Checks the caller's raw query, which is sent upstream as it was written (a URL parser would
 * re-encode `;`, `=`, quotes…, which some APIs read differently). No `#` (a fragment is never
 * sent). When the connection's API key goes in the query (`keyParam`), the caller's query may
 * not name that parameter in any spelling a server may read as it (case, percent-encoding,
 * Unicode forms, `key[]`, PHP's `.`/space for `_`, `;` as a separator): the proxy appends
 * the key itself, and a second one would be the upstream's to choose between. Refused rather
 * than removed: removing it would need the proxy to parse the query exactly as the upstream does.
 */
export function checkProxyQuery(raw: string, keyParam: string | undefined): void {
  if (raw.includes('#')) {
    throw new FieldError('query', 'the query contains "#"', {
      hint: 'percent-encode a "#" in a value as %23 (a fragment is never sent)',
    });
  }
  if (keyParam === undefined) return;
  const wanted = keyParam.normalize('NFKC').toLowerCase();
  const refuse: (written: string) => never = (written) => {
    throw new FieldError(
      `query.${keyParam}`,
      `the query names ${JSON.stringify(written.slice(0, 100))}, which reads as ${keyParam}, the parameter the connection's API key goes in`,
      { hint: `leave ${keyParam} out of the query: the proxy adds the connection's key itself` },
    );
  };
  for (const pair of raw.split(/[&;]/)) {
    const name = pair.split('=', 1)[0] ?? '';
    const readings = readingsOf(name.replaceAll('+', ' '));
    if (!readings) refuse(name);
    for (const { text } of readings) {
      // `key[]=`, `key[a][b]=`: PHP and Rails read the name up to the first "[". Not a regular
      // expression: one ending in "\]$" backtracks quadratically over a name full of "[".
      const lower = text.trim().toLowerCase();
      const open = lower.endsWith(']') ? lower.indexOf('[') : -1;
      const bare = open > 0 ? lower.slice(0, open) : lower;
      if (bare === wanted || bare.replace(/[ .[]/g, '_') === wanted) refuse(name);
    }
  }
}

/** The path and query sent upstream: the target's path, the caller's query as written, then the key when it goes in the query. */
export function wirePath(
  target: URL,
  rawQuery: string,
  keyParam: readonly [string, string] | undefined,
): string {
  const key = keyParam ? `${encodeURIComponent(keyParam[0])}=${encodeURIComponent(keyParam[1])}` : '';
  const query = [rawQuery, key].filter((part) => part !== '').join('&');
  return query === '' ? target.pathname : `${target.pathname}?${query}`;
}

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
