import { STATUS_CODES } from 'node:http';
import type { Connector, Endpoint } from '../connector/model.js';
import { ConnectrError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { getPath } from '../json-path.js';
import { TEXT_LIMIT, rejoinedBody, textBody } from './response-body.js';
import type { BodySource } from './response-body.js';
import type { HttpResponse } from './send.js';

/**
 * What a response is: JSON, text, bytes, or nothing, by the endpoint's declared encoding or
 * else its Content-Type; the JSON result some APIs put in a header (Dropbox-API-Result); and
 * upstream errors in the provider's own words.
 */

export type ResponseKind = 'json' | 'text' | 'binary' | 'empty';

export function header(response: Pick<HttpResponse, 'headers'>, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function responseKind(
  endpoint: Endpoint,
  response: Pick<HttpResponse, 'headers' | 'status'>,
): ResponseKind {
  if (response.status === 204 || response.status === 205 || header(response, 'content-length') === '0')
    return 'empty';
  const declared = endpoint.response?.encoding ?? 'auto';
  if (declared !== 'auto' && response.status < 300) return declared;
  const type = (header(response, 'content-type') ?? '').toLowerCase();
  if (/[/+]json\b/.test(type)) return 'json';
  if (type.startsWith('text/') || /[/+]xml\b/.test(type) || type.includes('javascript') || type === '')
    return 'text';
  return 'binary';
}

/** The JSON result carried in a response header (Dropbox-API-Result), when the endpoint has one. */
export function headerResult(endpoint: Endpoint, response: Pick<HttpResponse, 'headers'>): unknown {
  const name = endpoint.response?.result_header;
  const value = name ? header(response, name) : undefined;
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/**
 * A 2xx JSON answer judged by the connector's `errors.ok_path` (Slack answers its errors with
 * HTTP 200 and `"ok": false`): read whole, offered again to the next reader, and marked
 * `failed` with the provider's code when it says it failed. Other answers pass untouched.
 */
export async function judgedByBody(
  connector: Connector,
  endpoint: Endpoint,
  response: HttpResponse,
  from: BodySource,
): Promise<HttpResponse> {
  const okPath = connector.errors.okPath;
  if (okPath === undefined || response.status >= 300 || responseKind(endpoint, response) !== 'json')
    return response;
  const head = await response.body.head(TEXT_LIMIT);
  // Larger than connectr parses: passed on unjudged, as the bytes came.
  if (!head.complete) return { ...response, body: rejoinedBody(head, from) };
  const body = textBody(head.bytes);
  let json: unknown;
  try {
    json = JSON.parse(head.bytes.toString('utf8')) as unknown;
  } catch {
    return { ...response, body };
  }
  const failed = saysFailed(connector, json);
  return failed ? { ...response, body, failed } : { ...response, body };
}

/** A JSON answer that says it failed (the connector's errors.ok_path is false), with its code. */
export function saysFailed(connector: Connector, json: unknown): { code: string | undefined } | undefined {
  const okPath = connector.errors.okPath;
  if (okPath === undefined || getPath(json, okPath) !== false) return undefined;
  return { code: firstString(json, connector.errors.codePaths) };
}

/** An answer that failed: an error status, or a 2xx whose body says so (`judgedByBody`). */
export function isErrorAnswer(response: Pick<HttpResponse, 'status' | 'failed'>): boolean {
  return response.status >= 300 || response.failed !== undefined;
}

/** A failed 2xx answer whose provider code says the token expired (errors.expired_codes). */
export function saysTokenExpired(connector: Connector, response: Pick<HttpResponse, 'failed'>): boolean {
  const code = response.failed?.code;
  return code !== undefined && connector.errors.expiredCodes.includes(code);
}

function firstString(json: unknown, paths: readonly (string | readonly string[])[]): string | undefined {
  for (const path of paths) {
    const value = getPath(json, path as string | string[]);
    if (typeof value === 'string' && value) return value;
    if (typeof value === 'number') return String(value);
  }
  return undefined;
}

/** An error answer of the upstream API, keeping its status and body for programs. */
export class UpstreamError extends ConnectrError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status: number,
    readonly body: unknown,
    hint?: string,
  ) {
    super(code, message, { hint });
  }
}

export async function upstreamError(
  connector: Connector,
  endpoint: Endpoint,
  response: HttpResponse,
): Promise<UpstreamError> {
  // An error answer is shown, not saved: its first 64 KiB say what went wrong.
  const head = await response.body.head(64 * 1024);
  if (!head.complete) head.rest.destroy();
  const text = head.bytes.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    json = undefined;
  }
  const first = (paths: readonly (string | readonly string[])[]): string | undefined =>
    firstString(json, paths);
  const providerMessage =
    first(connector.errors.messagePaths) ??
    first(['error_description', 'message', 'error.message', 'error']) ??
    (text.trim() ? text.trim().slice(0, 300) : undefined);
  const providerCode = first(connector.errors.codePaths);
  const status = `${response.status}${STATUS_CODES[response.status] ? ` ${STATUS_CODES[response.status] ?? ''}` : ''}`;
  // A 2xx that failed is worded by its code alone: "answered 200 OK" would read as success.
  const said = response.failed ? 'refused the call' : `answered ${status}`;
  const detail = providerMessage && providerMessage !== providerCode ? `: ${providerMessage}` : '';
  const message = `${connector.displayName} ${said}${providerCode ? ` (${providerCode})` : ''}${detail}`;

  let code: ErrorCode = 'upstream';
  let hint: string | undefined;
  if (response.status === 401 || saysTokenExpired(connector, response)) {
    code = 'auth_expired';
    hint = response.refusedHint ?? `sign in again: connectr auth ${connector.name}`;
  } else if (response.status === 403 && endpoint.scopes?.length) {
    hint = `${endpoint.name} needs one of the scopes ${endpoint.scopes.join(', ')}; sign in with them: connectr auth ${connector.name} --scopes ${endpoint.scopes[0] ?? ''}`;
  } else if (response.status === 429) {
    const after = header(response, 'retry-after');
    hint = `rate limited${after ? `; the server asks to wait ${after}${/^\d+$/.test(after) ? ' s' : ''}` : ''}; try again later`;
  }
  return new UpstreamError(code, message, response.status, json ?? text, hint);
}
