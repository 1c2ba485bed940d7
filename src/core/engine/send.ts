import { Readable, Transform } from 'node:stream';
import type { Dispatcher } from 'undici';
import { applyCredential } from './credential.js';
import type { Credential } from './credential.js';
import type { Clock } from '../clock.js';
import { connectorOrigins } from '../connector/model.js';
import type { Connector } from '../connector/model.js';
import type { HttpMethod } from '../connector/schema.js';
import { ConnectrError, isConnectrError } from '../errors.js';
import { NonPublicAddress } from '../http/address.js';
import { describeNetworkError } from '../http/request.js';
import { followPolicy, refusedAddress } from './follow.js';
import type { FollowKind } from './follow.js';
import { dumpBody, sendRequest } from '../http/client.js';
import type { ClientResponse } from '../http/client.js';
import { getPath } from '../json-path.js';
import type { Env } from '../paths.js';
import type { AttemptLimiter } from '../limits/limiter.js';
import type { AnswerHead } from '../limits/signals.js';
import { replaysAfterRefresh } from '../auth/replay.js';
import { openBody, replayable } from './body.js';
import { headerValue } from './request.js';
import { judgedByBody, saysTokenExpired } from './response.js';
import type { PreparedRequest } from './request.js';
import { isTimeout, responseBody, textBody, timeoutError } from './response-body.js';
import type { ResponseBody } from './response-body.js';

export { textBody };
export type { ResponseBody };

/**
 * Sends a prepared request the way a careful client does: credentials only to the connector's
 * own hosts; redirects, page links and upload URLs followed only where follow.ts allows (the
 * connector's hosts, and for a redirect or an upload URL its redirect_hosts, such as a
 * pre-authenticated download URL, sent without the credential; never an internal address); retries with exponential backoff and full jitter on rate limits, overload and
 * network failures, honouring Retry-After and the connector's rate-limit hints; never repeats
 * a non-idempotent request that may have reached the server; refreshes the token once on 401.
 */

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: ResponseBody;
  /** The final URL, after redirects. */
  readonly url: URL;
  /** Set on a 2xx answer whose body says the call failed (the connector's errors.ok_path). */
  readonly failed?: { readonly code: string | undefined } | undefined;
  /** On a refused credential (401): what fixes it, when not `connectr auth` (SuppliedCredential). */
  readonly refusedHint?: string | undefined;
}

export interface SendDeps {
  readonly env: Env;
  readonly clock: Clock;
  /** Opened only when a body reads it: process.stdin makes a stream on first use. */
  readonly stdin: () => Readable;
  readonly dispatcher?: Dispatcher | undefined;
  readonly signal?: AbortSignal | undefined;
  /** The credential for the first attempt. */
  readonly credential: () => Promise<Credential>;
  /** A new credential after a 401; undefined when none can be had (a token from the environment). */
  readonly refresh?: (() => Promise<Credential>) | undefined;
  /** What fixes the credential if the API refuses it (SuppliedCredential.refusedHint). */
  readonly refusedHint?: string | undefined;
  /** Random number in [0, 1), for jitter; injected so tests are deterministic. */
  readonly random?: () => number;
  /** Told about each retry before waiting (the CLI prints it with --verbose). */
  readonly onRetry?: (info: { attempt: number; waitMs: number; reason: string }) => void;
  /** Told of each answer as its headers arrive, redirects and retried attempts included (--verbose). */
  readonly onResponse?: ((info: ResponseInfo) => void) | undefined;
  /** The connector's rate limits (core/limits): each attempt takes its turn; answers may pause them. */
  readonly limiter?: AttemptLimiter | undefined;
}

/** One answer's head, as `onResponse` is told it. */
export interface ResponseInfo {
  readonly method: HttpMethod;
  readonly url: URL;
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** From sending the request to its answer's headers. */
  readonly ms: number;
  /** The request body's bytes, when known before sending (none: 0). */
  readonly sent?: number | undefined;
}

export interface SendOptions {
  /** Retries after the first attempt. */
  readonly retries: number;
  /** Time limit for each attempt to start answering, and for each pause in a transfer. */
  readonly timeoutMs: number;
  /** Longest wait a server may ask for before connectr gives up instead (default 5 min). */
  readonly maxWaitMs?: number;
  /** Counts upload bytes as they leave. */
  readonly onUpload?: ((sent: number) => void) | undefined;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Redirects followed for one request, as browsers and curl bound them. */
const MAX_REDIRECTS = 10;
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 20_000;

export function isIdempotent(method: HttpMethod, declared: boolean | undefined): boolean {
  return declared ?? ['GET', 'HEAD', 'PUT', 'DELETE'].includes(method);
}

export async function send(
  req: PreparedRequest,
  deps: SendDeps,
  options: SendOptions,
): Promise<HttpResponse> {
  const idempotent = isIdempotent(req.method, req.endpoint.idempotent);
  const canReplay = replayable(req.body);
  const limits = req.connector.rateLimit;
  let credential = await deps.credential();
  let refreshed = false;
  for (let attempt = 0; ; attempt++) {
    const last = attempt >= options.retries || !canReplay;
    let response: HttpResponse;
    if (deps.limiter) await deps.limiter.before(req.endpoint.name, deps.signal);
    try {
      response = await followRedirects(req, credential, deps, options);
    } catch (error) {
      if (deps.signal?.aborted) throw error;
      // Refusals of connectr's own (a redirect loop, an unreplayable upload) are final.
      if (isConnectrError(error)) throw error;
      // An untrusted certificate stays untrusted: retrying only delays the answer.
      if (isTlsFailure(error)) {
        throw new ConnectrError(
          'unavailable',
          `${req.method} ${req.url.host}${req.url.pathname} failed: ${describeNetworkError(error)}`,
          {
            hint: `the TLS connection to ${req.url.host} was refused, nothing was sent; if you trust that certificate (a company proxy, a test server), point NODE_EXTRA_CA_CERTS at its CA file`,
            cause: error,
          },
        );
      }
      const neverSent = isConnectFailure(error);
      if (!last && (idempotent || neverSent)) {
        const waitMs = backoff(attempt, deps);
        deps.onRetry?.({ attempt: attempt + 1, waitMs, reason: describeNetworkError(error) });
        await deps.clock.sleep(waitMs, deps.signal);
        continue;
      }
      if (isTimeout(error)) {
        throw timeoutError(
          `${req.method} ${req.url.host}${req.url.pathname} failed ${attempt + 1} time(s)`,
          options.timeoutMs,
          error,
        );
      }
      throw new ConnectrError(
        'unavailable',
        `${req.method} ${req.url.host}${req.url.pathname} failed: ${describeNetworkError(error)}`,
        {
          hint: neverSent
            ? isProxyFailure(error)
              ? 'check the proxy (HTTPS_PROXY / HTTP_PROXY), or exempt this host with NO_PROXY'
              : 'check the network and the base URL (connectr connectors show shows it)'
            : idempotent
              ? `it failed ${attempt + 1} time(s); try again later or raise --retries`
              : 'the request may have reached the server, so it was not repeated automatically; check before retrying',
          cause: error,
        },
      );
    }

    response = await judgedByBody(req.connector, req.endpoint, response, {
      label: `${req.method} ${req.url.host}${req.url.pathname}`,
      timeoutMs: options.timeoutMs,
      signal: deps.signal,
    });
    const expired = response.status === 401 || saysTokenExpired(req.connector, response);
    if (
      replaysAfterRefresh({
        refused: expired,
        canRefresh: deps.refresh !== undefined,
        refreshed,
        replayable: canReplay,
      }) &&
      deps.refresh
    ) {
      await response.body.dump();
      credential = await deps.refresh();
      refreshed = true;
      attempt--;
      continue;
    }
    const retryable =
      response.status === 429 ||
      response.status === 503 ||
      (idempotent && limits.retryStatuses.includes(response.status)) ||
      (response.failed?.code !== undefined && limits.codes.includes(response.failed.code));
    if (!retryable || last) {
      deps.limiter?.answered(req.endpoint.name, answerHead(response));
      return expired && deps.refusedHint ? { ...response, refusedHint: deps.refusedHint } : response;
    }
    const text = await response.body.text();
    deps.limiter?.answered(req.endpoint.name, answerHead(response), text);
    const waitMs = serverWait(response, text, req.connector, deps.clock.now()) ?? backoff(attempt, deps);
    if (waitMs > (options.maxWaitMs ?? 300_000)) {
      return { ...response, body: textBody(text) };
    }
    deps.onRetry?.({ attempt: attempt + 1, waitMs, reason: `HTTP ${response.status}` });
    await deps.clock.sleep(waitMs, deps.signal);
  }
}

function answerHead(response: HttpResponse): AnswerHead {
  return { status: response.status, headers: response.headers, failedCode: response.failed?.code };
}

/** One attempt: the request, then its redirects, with the credential only on trusted origins. */
async function followRedirects(
  req: PreparedRequest,
  credential: Credential,
  deps: SendDeps,
  options: SendOptions,
): Promise<HttpResponse> {
  const trusted = connectorOrigins(req.connector, deps.env);
  const follow = followPolicy(req.connector, deps.env);
  let method: HttpMethod = req.method;
  let url = new URL(req.url);
  let body = req.body;
  const visited = new Set<string>();
  for (let hop = 0; ; hop++) {
    const where = `${method} ${url.href}`;
    if (visited.has(where)) {
      throw new ConnectrError(
        'upstream',
        `redirect loop: ${req.method} ${req.url.host}${req.url.pathname} was redirected back to ${url.host}${url.pathname}`,
        {
          hint: 'the server or its configuration is at fault; check the base URL (connectr connectors show)',
        },
      );
    }
    if (hop > MAX_REDIRECTS) {
      throw new ConnectrError(
        'upstream',
        `too many redirects: ${req.method} ${req.url.host}${req.url.pathname} was redirected more than ${MAX_REDIRECTS} times`,
      );
    }
    visited.add(where);
    const headers = { ...req.headers };
    const target = new URL(url);
    const kind: FollowKind | undefined = hop > 0 ? 'redirect' : req.followed;
    const { publicOnly } = kind ? await follow.check(target, kind) : { publicOnly: false };
    if (trusted.has(target.origin)) applyCredential(req.connector, credential, target, headers);
    // A value with CR/LF is a mistake (or an injection), never a network fault to retry.
    for (const [name, value] of Object.entries(headers)) headerValue(value, `the ${name} header`);
    const payload = await openBody(body, deps.stdin);
    if (payload.length !== undefined && body.kind !== 'none')
      headers['content-length'] = String(payload.length);
    // The client's headers time limit starts only once the request is sent: this one also covers
    // connecting, and a proxy that accepts a connection and never answers. Like the client's, it
    // starts again whenever upload bytes leave, so a slow upload is not cut off.
    const waiting = new AbortController();
    const timer = setTimeout(() => {
      waiting.abort(new AttemptTimeout());
    }, options.timeoutMs);
    // The caller's signal reaches this attempt through a listener, removed once the attempt's
    // body is done with: AbortSignal.any costs a dependent signal per request that only the
    // garbage collector lets go of (a measurable share of the daemon's execute).
    const cancel = deps.signal;
    const forward = (): void => {
      waiting.abort(cancel?.reason);
    };
    const release = (): void => cancel?.removeEventListener('abort', forward);
    if (cancel?.aborted) forward();
    else cancel?.addEventListener('abort', forward, { once: true });
    let data = payload.data;
    if (data !== undefined && typeof data !== 'string') {
      data = counted(Buffer.isBuffer(data) ? slices(data) : data, (sent) => {
        timer.refresh();
        options.onUpload?.(sent);
      });
    }
    const signal = waiting.signal;
    let response: ClientResponse;
    const started = deps.clock.now();
    try {
      const pending = sendRequest(target, {
        method,
        headers,
        headersTimeoutMs: options.timeoutMs,
        bodyTimeoutMs: options.timeoutMs,
        body: data,
        dispatcher: deps.dispatcher,
        env: deps.env,
        signal,
        publicOnly,
      });
      response = await untilAborted(pending, signal);
    } catch (error) {
      release();
      if (waiting.signal.aborted && !deps.signal?.aborted) throw new AttemptTimeout();
      const refused = nonPublic(error);
      if (kind && refused) throw refusedAddress(req.connector, kind, target, refused.address);
      throw error;
    } finally {
      clearTimeout(timer);
    }
    deps.onResponse?.({
      method,
      url: target,
      status: response.statusCode,
      headers: response.headers,
      ms: deps.clock.now() - started,
      sent: payload.length ?? (payload.data === undefined ? 0 : undefined),
    });
    const location = response.headers.location;
    if (!REDIRECTS.has(response.statusCode) || typeof location !== 'string') {
      response.body.once('close', release);
      return {
        status: response.statusCode,
        headers: response.headers,
        body: responseBody(response.body, {
          label: `${method} ${target.host}${target.pathname}`,
          timeoutMs: options.timeoutMs,
          signal: deps.signal,
        }),
        url: target,
      };
    }
    await dumpBody(response.body);
    release();
    url = new URL(location, target);
    if (
      response.statusCode === 303 ||
      ((response.statusCode === 301 || response.statusCode === 302) && method !== 'GET' && method !== 'HEAD')
    ) {
      method = 'GET';
      body = { kind: 'none' };
    } else if (!replayable(body)) {
      throw new ConnectrError(
        'upstream',
        `the server redirected an upload from standard input to ${url.host}, which cannot be replayed`,
      );
    }
  }
}

/**
 * undici (behind a proxy) honours an abort only once the request has a connection: a request still waiting
 * for one (a proxy that never answers CONNECT) would wait for ever. This gives up at once; the
 * abandoned request is released if it ever gets an answer.
 */
function untilAborted(pending: Promise<ClientResponse>, signal: AbortSignal): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      pending.then(
        (late) => late.body.destroy(),
        () => undefined,
      );
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (response) => {
        signal.removeEventListener('abort', onAbort);
        resolve(response);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** No answer within --timeout, connecting included. */
class AttemptTimeout extends Error {
  readonly code = 'CONNECTR_ATTEMPT_TIMEOUT';
  constructor() {
    super('no response in time');
    this.name = 'AttemptTimeout';
  }
}

/** A buffer as a stream of 64 KiB pieces, so its progress can be followed. */
function slices(data: Buffer): Readable {
  const piece = 64 * 1024;
  return Readable.from(
    (function* () {
      for (let at = 0; at < data.length; at += piece) yield data.subarray(at, at + piece);
    })(),
  );
}

/** The same bytes, counted as the HTTP client pulls them (never read ahead of it). */
function counted(stream: Readable, onUpload: (sent: number) => void): Readable {
  let sent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sent += chunk.length;
      onUpload(sent);
      callback(null, chunk);
    },
  });
  stream.on('error', (error) => counter.destroy(error));
  return stream.pipe(counter);
}

/** The publicLookup refusal behind a failed connection (undici and node:net may wrap it). */
function nonPublic(error: unknown): NonPublicAddress | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof NonPublicAddress) return e;
    if (e instanceof AggregateError) {
      const inner = e.errors.find((x): x is NonPublicAddress => x instanceof NonPublicAddress);
      if (inner) return inner;
    }
  }
  return undefined;
}

function isProxyFailure(error: unknown): boolean {
  return (error as { code?: unknown }).code === 'CONNECTR_PROXY_CLOSED';
}

/** Certificate and TLS handshake failures (Node's and OpenSSL's codes): permanent, sent nothing. */
function isTlsFailure(error: unknown): boolean {
  const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
  return typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|^ERR_TLS_|^ERR_SSL_/.test(code);
}

/** Connection failures that happen before any byte of the request left: always safe to retry. */
function isConnectFailure(error: unknown): boolean {
  const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
  return (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EAI_AGAIN' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'CONNECTR_PROXY_CLOSED'
  );
}

/** Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2^attempt)]. */
function backoff(attempt: number, deps: SendDeps): number {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
  return Math.round((deps.random ?? Math.random)() * ceiling);
}

/** How long the server asked us to wait: Retry-After (seconds or HTTP date), reset headers, the body. */
export function serverWait(
  response: Pick<HttpResponse, 'headers'>,
  text: string,
  connector: Connector,
  now: number,
): number | undefined {
  const header = (name: string): string | undefined => {
    const value = response.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  };
  for (const name of connector.rateLimit.retryAfterHeaders) {
    const value = header(name)?.trim();
    if (!value) continue;
    if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  for (const name of connector.rateLimit.resetHeaders) {
    const value = Number(header(name));
    if (Number.isFinite(value) && value > 0) return Math.max(0, value * 1000 - now);
  }
  if (connector.rateLimit.retryAfterPath) {
    try {
      const seconds = Number(getPath(JSON.parse(text), connector.rateLimit.retryAfterPath));
      if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
