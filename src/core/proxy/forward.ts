import { replaysAfterRefresh } from '../auth/replay.js';
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { checkOverrides } from '../auth/binding.js';
import type { Connector, Host } from '../connector/model.js';
import { applyCredential, credentialQueryParam } from '../engine/credential.js';
import type { Credential, CredentialSource } from '../engine/credential.js';
import { isTimeout } from '../engine/response-body.js';
import { fitsTemplate } from '../engine/path-template.js';
import type { AttemptLimiter } from '../limits/limiter.js';
import { ConnectrError, isConnectrError } from '../errors.js';
import { checkStatus, dropBody } from '../http/client.js';
import { describeNetworkError } from '../http/request.js';
import type { Env } from '../paths.js';
import { USER_AGENT } from '../version.js';
import { HOST_HEADER, forwardedRequestHeaders, providerHeaders, returnedResponseHeaders } from './headers.js';
import { hasLinks, rewriteResponseLinks } from './links.js';
import { checkProxyQuery, chooseHost, placeUnderBase, wirePath } from './rules.js';

/**
 * One raw request forwarded to a connector's API, as the daemon's raw proxy does it: checked
 * (rules.ts, headers.ts) before any credential is read, then sent once through the given
 * dispatcher with the credential added, the upload streamed and the answer handed back as it
 * arrives, never buffered. A refused token (401) is refreshed and the request replayed only
 * when there is no body: a streamed one has gone and cannot be sent again. A network failure
 * becomes a ConnectrError (cancelled, timeout, upstream) naming no query: it may hold a key.
 */

/** What a caller asks for, as it wrote it. */
export interface RawProxyInput {
  readonly connector: Connector;
  readonly env: Env;
  readonly method: string;
  /** The path below the host's base URL, still percent-encoded, without its leading "/". */
  readonly path: string;
  /** The query as written, without "?". */
  readonly query: string;
  /** The caller's headers: `x-connectr-host` picks the host; rules.ts's allow-list picks what goes on. */
  readonly headers: IncomingHttpHeaders;
}

/** A request checked and ready to send; nothing has been read or sent yet. */
export interface RawProxyRequest {
  readonly connector: Connector;
  readonly method: string;
  readonly host: Host;
  /** The host's base URL (its environment override applied). */
  readonly base: URL;
  /** The upstream URL, without the query. */
  readonly target: URL;
  readonly query: string;
  readonly headers: Readonly<Record<string, string>>;
}

export function prepareRawProxy(input: RawProxyInput): RawProxyRequest {
  const { connector, env } = input;
  // A definition that would send the credential elsewhere than where it was issued for is refused.
  checkOverrides(connector, env);
  const requested = input.headers[HOST_HEADER];
  const host = chooseHost(connector, Array.isArray(requested) ? requested[0] : requested);
  const { base, target } = placeUnderBase(host, env, input.path);
  const auth = connector.auth;
  checkProxyQuery(input.query, auth.type === 'api_key' && auth.in === 'query' ? auth.name : undefined);
  const credentialHeader =
    auth.type === 'api_key' && auth.in === 'header' ? auth.name.toLowerCase() : undefined;
  const headers = forwardedRequestHeaders(input.headers, providerHeaders(connector), credentialHeader);
  headers['user-agent'] = USER_AGENT;
  return {
    connector,
    method: input.method,
    host,
    base,
    target,
    query: input.query,
    headers,
  };
}

/**
 * The caller going away, as undici takes it in place of an AbortSignal (an emitter with
 * `aborted`): an AbortController per request cost the daemon's raw proxy more than its header
 * checks, for a signal almost never raised.
 */
export class CallerGone extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

export interface ForwardDeps {
  /** The pool the request goes through (the daemon's one upstream pool). */
  readonly dispatcher: Dispatcher;
  readonly credentials: CredentialSource;
  /** The upload, opened once the credential is in hand (a refused sign-in leaves it unread); none: no body. */
  readonly body?: (() => Readable) | undefined;
  /** Aborts the upstream request (the caller went away). */
  readonly signal?: AbortSignal | CallerGone | undefined;
  /** The dispatcher's time limit for an answer, named in a time-out's hint (ms). */
  readonly timeoutMs: number;
  /** Told each upstream status as it arrives (metrics), a replayed request's too. */
  readonly onResponse?:
    ((status: number, headers: Readonly<Record<string, string | string[] | undefined>>) => void) | undefined;
  /** The connector's rate limits (core/limits): each request sent takes its turn; answers may pause them. */
  readonly limiter?: AttemptLimiter | undefined;
}

/** The upstream's answer: status, headers and the body as a stream, not yet read. */
export type ForwardedResponse = Dispatcher.ResponseData;

export async function forward(request: RawProxyRequest, deps: ForwardDeps): Promise<ForwardedResponse> {
  const { credentials } = deps;
  let supplied = await credentials.credential();
  const upload = deps.body?.();
  const { limiter } = deps;
  const endpoint = limiter?.byEndpoint ? endpointOf(request) : undefined;
  const send = async (credential: Credential): Promise<ForwardedResponse> => {
    let response: ForwardedResponse;
    if (limiter) await limiter.before(endpoint, deps.signal);
    try {
      response = await sendOnce(request, deps, credential, upload);
    } catch (error) {
      throw networkFailure(error, request, deps.timeoutMs);
    }
    deps.onResponse?.(response.statusCode, response.headers);
    limiter?.answered(endpoint, { status: response.statusCode, headers: response.headers });
    return response;
  };
  let response = await send(supplied.credential);
  if (
    replaysAfterRefresh({
      refused: response.statusCode === 401,
      canRefresh: supplied.refreshable,
      refreshed: false,
      // The caller's upload streams through as it arrives: it cannot be sent twice.
      replayable: upload === undefined,
    })
  ) {
    await response.body.dump();
    supplied = await credentials.credential({ forceRefresh: true });
    response = await send(supplied.credential);
  }
  // A status beyond 599 cannot be passed on (Node's server refuses it): the upstream's fault.
  try {
    checkStatus(response.statusCode, where(request));
  } catch (error) {
    dropBody(response.body);
    throw error;
  }
  return response;
}

function sendOnce(
  request: RawProxyRequest,
  deps: ForwardDeps,
  credential: Credential,
  upload: Readable | undefined,
): Promise<ForwardedResponse> {
  const { connector, target } = request;
  const headers = { ...request.headers };
  const keyParam = credentialQueryParam(connector, credential);
  if (!keyParam) applyCredential(connector, credential, target, headers);
  // Straight to the pool with the path as a string: undici's request(url) would parse it with
  // the URL parser again, which re-encodes the caller's query.
  return deps.dispatcher.request({
    origin: target.origin,
    path: wirePath(target, request.query, keyParam),
    method: request.method,
    headers,
    ...(upload ? { body: upload } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
}

/**
 * The endpoint a raw request is a call of, for the rate limits that count only some endpoints:
 * the first of the connector's on this host with this method whose path template fits.
 */
function endpointOf(request: RawProxyRequest): string | undefined {
  const below = request.target.pathname.slice(request.base.pathname.replace(/\/$/, '').length);
  return request.connector.endpoints.find(
    (e) => e.host === request.host.key && e.method === request.method && fitsTemplate(e.path, below),
  )?.name;
}

/** The request in words for an error: method, host and path; never the query (it may hold a key). */
function where(request: RawProxyRequest): string {
  return `${request.method} ${request.target.host}${request.target.pathname}`;
}

/** What a failed upstream request is, as a ConnectrError; its cause keeps the original. */
export function networkFailure(error: unknown, request: RawProxyRequest, timeoutMs: number): ConnectrError {
  if (isConnectrError(error)) return error;
  const code = (error as { code?: unknown }).code;
  if (code === 'UND_ERR_ABORTED' || (error instanceof Error && error.name === 'AbortError'))
    return new ConnectrError('cancelled', `${where(request)} was cancelled: the caller went away`, {
      cause: error,
    });
  // The engine's time-outs, and a connection not made in time (the engine retries that one).
  if (isTimeout(error) || code === 'UND_ERR_CONNECT_TIMEOUT')
    return new ConnectrError('timeout', `${where(request)} failed: ${describeNetworkError(error)}`, {
      hint: `the API did not answer within ${timeoutMs / 1000} s; try again later`,
      cause: error,
    });
  return new ConnectrError('upstream', `${where(request)} failed: ${describeNetworkError(error)}`, {
    hint: `the API could not be reached; check the network and the host's base URL (${request.host.env} overrides it)`,
    cause: error,
  });
}

/**
 * The answer's headers as they go back: hop-by-hop ones, cookies and the proxy's own dropped
 * (headers.ts), and URLs on the host the request went to mapped through the proxy (links.ts),
 * whose URL for this connection is `proxyBase`.
 */
export function answerHeaders(
  request: RawProxyRequest,
  upstream: Readonly<Record<string, string | string[] | undefined>>,
  proxyBase: () => string,
): Record<string, string | string[]> {
  const passed = returnedResponseHeaders(upstream);
  // Most answers carry no link: the map (and the proxy's own address) is made only for one that does.
  if (!hasLinks(passed)) return passed;
  return rewriteResponseLinks(passed, {
    upstreamBase: request.base,
    requestUrl: request.target,
    proxyBase: proxyBase(),
  });
}
