import { effectiveHostUrl, findHost } from '../connector/model.js';
import type { Connector, Endpoint } from '../connector/model.js';
import type { HttpMethod, REQUEST_ENCODINGS } from '../connector/schema.js';
import { ConnectrError } from '../errors.js';
import { setPath } from '../json-path.js';
import type { Env } from '../paths.js';
import { USER_AGENT } from '../version.js';
import type { FollowKind } from './follow.js';
import type { ParamValue, ParamValues, RawBody } from './params.js';
import { expandPath, joinBaseUrl } from './url.js';

/**
 * The exact HTTP request an endpoint call makes: every param placed where the definition
 * says (path, repeated query keys, headers, JSON or form body fields, a JSON-argument header,
 * the raw body), on the endpoint's host. Credentials are added later, when sending, so this
 * request can be shown by --dry-run and --curl without any secret.
 */

export type RequestBody =
  | { readonly kind: 'none' }
  | { readonly kind: 'json'; readonly text: string }
  | { readonly kind: 'form'; readonly text: string }
  | { readonly kind: 'raw'; readonly source: RawBody };

type RequestEncoding = (typeof REQUEST_ENCODINGS)[number];

export interface PreparedRequest {
  readonly connector: Connector;
  readonly endpoint: Endpoint;
  readonly method: HttpMethod;
  readonly url: URL;
  /** Header names in lower case. */
  readonly headers: Record<string, string>;
  readonly body: RequestBody;
  /** Values of params marked secret, hidden in anything shown to the user. */
  readonly secrets: readonly string[];
  /**
   * Set on a request to a URL the API gave (a next page, an upload session's URL): sent only
   * where follow.ts allows a follow of that kind.
   */
  readonly followed?: Exclude<FollowKind, 'redirect'>;
}

export interface BuildOptions {
  readonly env: Env;
  readonly extraQuery?: readonly (readonly [string, string])[] | undefined;
  /** A whole body given by the caller, replacing the body params. */
  readonly body?: RawBody | undefined;
  /** Headers the caller adds (`-H`, checked by headers.ts), over the definition's own. */
  readonly headers?: readonly (readonly [string, string])[] | undefined;
  /** Values the caller gave that are secrets (a credential header of their own): hidden when shown. */
  readonly secrets?: readonly string[] | undefined;
}

export function buildRequest(
  connector: Connector,
  endpoint: Endpoint,
  values: ParamValues,
  options: BuildOptions,
): PreparedRequest {
  const host = findHost(connector, endpoint.host);
  if (!host)
    throw new ConnectrError('invalid_connector', `${connector.name}.${endpoint.name} names an unknown host`);
  // No prototype: a path placeholder can only ever find a value that was given.
  const plain: Record<string, unknown> = { __proto__: null, ...Object.fromEntries(values) };
  const url = new URL(joinBaseUrl(effectiveHostUrl(host, options.env), expandPath(endpoint, plain)));
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(endpoint.headers ?? {})) headers[name.toLowerCase()] = value;

  const jsonBody: Record<string, unknown> = {};
  const jsonHeader: Record<string, unknown> = {};
  const form = new URLSearchParams();
  let raw: RawBody | undefined;
  let bodyParams = 0;
  const secrets: string[] = [...(options.secrets ?? [])];

  for (const param of endpoint.params) {
    const value = values.get(param.key);
    if (value === undefined) continue;
    if (param.secret) secrets.push(...flatten(value));
    switch (param.in) {
      case 'path':
        break;
      case 'query':
        for (const item of flatten(value)) url.searchParams.append(param.wireName, item);
        break;
      case 'header':
        headers[param.wireName.toLowerCase()] = headerValue(flatten(value).join(', '), `--${param.flag}`);
        break;
      case 'body':
        setPath(jsonBody, param.field ?? [param.wireName], value);
        bodyParams++;
        break;
      case 'json_header':
        setPath(jsonHeader, param.field ?? [param.wireName], value);
        break;
      case 'form':
        for (const item of flatten(value)) form.append(param.wireName, item);
        bodyParams++;
        break;
      case 'raw':
        // A `file` param arrives as a body source, a `string` one as the text to send.
        raw = typeof value === 'string' ? { kind: 'text', text: value } : (value as RawBody);
        break;
    }
  }
  for (const [k, v] of options.extraQuery ?? []) url.searchParams.append(k, v);

  const argHeader = endpoint.request?.json_header;
  if (argHeader) headers[argHeader.toLowerCase()] = httpHeaderSafeJson(jsonHeader);

  // The caller's own last: they asked for exactly these (a header given twice keeps both).
  const given = new Map<string, string>();
  for (const [name, value] of options.headers ?? [])
    given.set(name, given.has(name) ? `${given.get(name) ?? ''}, ${value}` : value);
  for (const [name, value] of given) headers[name] = value;

  // A definition names its own with a fixed header or a header param; else connectr's.
  headers['user-agent'] ??= USER_AGENT;

  const encoding = bodyEncoding(endpoint);
  let body: RequestBody = { kind: 'none' };
  if (options.body) body = { kind: 'raw', source: options.body };
  else if (encoding === 'json' && (bodyParams > 0 || endpoint.params.some((p) => p.in === 'body'))) {
    body = { kind: 'json', text: JSON.stringify(jsonBody) };
  } else if (encoding === 'form') body = { kind: 'form', text: form.toString() };
  else if ((encoding === 'binary' || encoding === 'text') && raw) body = { kind: 'raw', source: raw };

  if (body.kind !== 'none' && headers['content-type'] === undefined) {
    headers['content-type'] =
      endpoint.request?.content_type ??
      (encoding === 'form'
        ? 'application/x-www-form-urlencoded'
        : encoding === 'binary'
          ? 'application/octet-stream'
          : encoding === 'text'
            ? 'text/plain; charset=utf-8'
            : 'application/json');
  }
  if (endpoint.response?.encoding === 'json' && headers.accept === undefined)
    headers.accept = 'application/json';
  return { connector, endpoint, method: endpoint.method, url, headers, body, secrets };
}

/**
 * A header value as sent: control characters (CR and LF above all, which would end the header
 * and start another) are refused here, naming the flag, instead of failing later as if the
 * network had.
 */
export function headerValue(value: string, flag: string): string {
  // RFC 9110 §5.5: a field value is visible characters, spaces and tabs.
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u0008\u000a-\u001f\u007f]/.exec(value);
  if (bad) {
    const code = `U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    throw new ConnectrError(
      'invalid_input',
      `${flag} contains a control character (${code}${bad[0] === '\r' ? ', CR' : bad[0] === '\n' ? ', LF' : ''}), which a header value cannot hold`,
      { hint: 'remove line breaks and other control characters from the value' },
    );
  }
  return value;
}

/** How the endpoint's body is encoded: as declared, else inferred from its params. */
export function bodyEncoding(endpoint: Endpoint): RequestEncoding {
  return endpoint.request?.encoding ?? inferEncoding(endpoint);
}

function inferEncoding(endpoint: Endpoint): 'json' | 'form' | 'binary' | 'none' {
  if (endpoint.params.some((p) => p.in === 'body')) return 'json';
  if (endpoint.params.some((p) => p.in === 'form')) return 'form';
  if (endpoint.params.some((p) => p.in === 'raw')) return 'binary';
  return 'none';
}

function flatten(value: ParamValue): string[] {
  if (Array.isArray(value))
    return (value as readonly unknown[]).map((v) =>
      typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
        ? String(v)
        : JSON.stringify(v),
    );
  if (typeof value === 'object') return [JSON.stringify(value)];
  return [String(value)];
}

/**
 * JSON that is safe in an HTTP header: every character from U+007F up written as \uXXXX, as
 * Dropbox requires for Dropbox-API-Arg (header values are bytes, not UTF-8 text).
 */
export function httpHeaderSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
