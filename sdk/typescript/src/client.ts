import {
  ConnectrConnectionError,
  ConnectrError,
  ConnectrTimeoutError,
  InvalidInputError,
  envelopeError,
  errorFor,
} from './errors.js';
import type {
  Authorization,
  AuthorizeRequest,
  CallbackRequest,
  CallbackResult,
  Connection,
  ConnectionPage,
  Connector,
  ConnectorEndpoints,
  ConnectSession,
  ConnectSettings,
  CreateConnectSession,
  CreateWebhook,
  ConnectorSummary,
  CreateConnection,
  Credentials,
  Deleted,
  ExecuteAllRequest,
  ExecuteRequest,
  ExecuteResult,
  Health,
  ListConnectionsQuery,
  ListWebhookDeliveriesQuery,
  OAuthApp,
  OAuthAppDeleted,
  OAuthAppInput,
  QueuedEvent,
  Ready,
  Token,
  UpdateWebhook,
  Webhook,
  WebhookDeleted,
  WebhookDelivery,
  WebhookWithSecret,
} from './types.js';

/** What `connectr serve` listens on by default (docs/server.md). */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:5000';
export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_RETRIES = 2;
/** First back-off delay; doubled each retry, with jitter, up to maxRetryDelayMs. */
export const DEFAULT_RETRY_BASE_MS = 500;
export const DEFAULT_MAX_RETRY_DELAY_MS = 8_000;
/** The longest Retry-After honoured; a longer one is waited this long. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;
/** The longest NDJSON line read (one item); a longer one is an error, not unbounded memory. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;
/** The most pages iterConnections follows. */
const MAX_CONNECTION_PAGES = 100_000;

const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
const PROXY_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;
/** What fetch takes as a request body (RequestInit['body'], without the DOM lib's BodyInit name). */
type RequestBody = NonNullable<RequestInit['body']>;

export interface ClientOptions {
  /** The API key (`cnr_…`); default `CONNECTR_API_KEY`. Never shown in errors or when the client is printed. */
  apiKey?: string | undefined;
  /** The server's address; default `CONNECTR_URL`, else http://127.0.0.1:5000. */
  baseUrl?: string | undefined;
  /** Time-out of one attempt in ms (answer and body; for streams, the longest pause between chunks). Default 60 000. */
  timeoutMs?: number | undefined;
  /** Retries after the first attempt, for 429/502/503/504 and connection errors. Default 2. */
  maxRetries?: number | undefined;
  /** The fetch to use; default the global one (Node's). */
  fetch?: FetchLike | undefined;
  /** How to wait between retries (tests inject one). Default a timer. */
  sleep?: Sleep | undefined;
  /** A number in [0, 1) for the jitter; default Math.random. */
  random?: (() => number) | undefined;
  retryBaseMs?: number | undefined;
  maxRetryDelayMs?: number | undefined;
  maxRetryAfterMs?: number | undefined;
  /** Headers sent with every request (not Authorization: give apiKey). */
  headers?: Record<string, string> | undefined;
  /** Where CONNECTR_API_KEY and CONNECTR_URL are read; default process.env. */
  env?: Record<string, string | undefined> | undefined;
}

export interface RequestOptions {
  /** This call's time-out in ms, instead of the client's. */
  timeoutMs?: number;
  /** This call's retry count, instead of the client's. */
  maxRetries?: number;
  /**
   * Retry a non-idempotent call (POST, PATCH) too. Execute is a POST: retry it only when the
   * endpoint is safe to repeat (a read such as list_messages).
   */
  retry?: boolean;
  signal?: AbortSignal;
  /** Extra headers, e.g. an `x-request-id` of your own for tracing. */
  headers?: Record<string, string>;
}

export type ProxyBody =
  ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Uint8Array | ArrayBuffer | string;

export interface ProxyOptions extends RequestOptions {
  /** HTTP method; default GET. */
  method?: string;
  /** Query string values, appended to the path. */
  query?: Record<string, string | number | boolean | readonly (string | number | boolean)[]>;
  /** The request body: streamed as it is read (a ReadableStream or an async iterable of bytes, e.g. fs.createReadStream), or bytes / text. */
  body?: ProxyBody | null;
  /** The connector host's key (x-connectr-host), e.g. `content` for Dropbox downloads; default its first host. */
  host?: string;
}

interface Call extends RequestOptions {
  query?: Record<string, unknown> | undefined;
  json?: unknown;
  body?: RequestBody | null | undefined;
  /** false for /health and /ready. */
  auth?: boolean;
  /** Can the body be sent again (false for a stream). */
  replayable?: boolean;
  /** Return the response with its body unread (the caller reads it under the idle time-out). */
  stream?: boolean;
  /** Return any status as a Response instead of raising (the raw proxy). */
  anyStatus?: boolean;
}

function envValue(env: Record<string, string | undefined>, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

const defaultSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Milliseconds to wait from a Retry-After value (seconds, or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/^[A-Za-z]{3}, /.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Refuses a raw-proxy path the URL parser would change (dot segments, backslashes) or that carries a query or fragment. */
function checkProxyPath(path: string): string {
  const trimmed = path.replace(/^\/+/, '');
  const problem =
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f]/.test(trimmed)
      ? 'must not contain control characters'
      : /[\\]/.test(trimmed)
        ? 'must not contain a backslash'
        : /[?#]/.test(trimmed)
          ? 'must not contain "?" or "#" (give query values in the query option)'
          : trimmed.split('/').some((segment) => /^(\.|%2e){1,2}$/i.test(segment))
            ? 'must not contain "." or ".." segments'
            : undefined;
  if (problem !== undefined) {
    throw new InvalidInputError('invalid_input', `the proxy path ${problem}`, {
      details: [{ field: 'path', message: problem }],
    });
  }
  return trimmed;
}

function segment(value: string, what: string): string {
  if (value === '') throw new InvalidInputError('invalid_input', `${what} must not be empty`);
  // The URL parser resolves a "." or ".." segment: the request would reach another route.
  if (value === '.' || value === '..')
    throw new InvalidInputError('invalid_input', `${what} must not be "${value}"`);
  return encodeURIComponent(value);
}

function webhookPath(id: string): string {
  return `/api/v1/webhooks/${segment(id, 'webhook id')}`;
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function fromBase64(text: string): Uint8Array {
  const buffer = Buffer.from(text, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** A ReadableStream (or undefined) whose reads fail with ConnectrTimeoutError after `ms` without a chunk. */
function withIdleTimeout(
  body: ReadableStream<Uint8Array> | null,
  ms: number,
  what: string,
  requestId: string | undefined,
  signal: AbortSignal | undefined,
): ReadableStream<Uint8Array> | null {
  if (body === null) return null;
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new ConnectrTimeoutError(`${what}: no data for ${ms} ms`, { requestId }));
        }, ms);
      });
      try {
        const chunk = await Promise.race([reader.read(), stalled]);
        if (chunk.done) controller.close();
        else controller.enqueue(chunk.value);
      } catch (error) {
        void reader.cancel().catch(() => undefined);
        controller.error(translateError(error, what, requestId, signal));
      } finally {
        clearTimeout(timer);
      }
    },
    async cancel(reason) {
      await reader.cancel(reason);
    },
  });
}

/** A fetch or body failure as a typed error (the caller's own abort stays as it is). */
function translateError(
  error: unknown,
  what: string,
  requestId: string | undefined,
  signal: AbortSignal | undefined,
): unknown {
  if (error instanceof ConnectrError) return error;
  if (signal?.aborted) return signal.reason;
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const detail = typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
  return new ConnectrConnectionError(`${what}: connection failed (${detail})`, { requestId, cause: error });
}

/**
 * The platform client of `connectr serve`: every route of its REST API as an async method.
 *
 * ```ts
 * const client = new ConnectrClient();           // CONNECTR_URL, CONNECTR_API_KEY
 * const result = await client.execute({ connection_id, endpoint: 'get_profile' });
 * ```
 */
export class ConnectrClient {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  // A private field: never printed by console.log / util.inspect, never in JSON.stringify.
  readonly #apiKey: string | undefined;
  readonly #fetch: FetchLike;
  readonly #sleep: Sleep;
  readonly #random: () => number;
  readonly #retryBaseMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #headers: Record<string, string>;

  constructor(options: ClientOptions = {}) {
    const env = options.env ?? process.env;
    this.#apiKey = options.apiKey ?? envValue(env, 'CONNECTR_API_KEY');
    const base = options.baseUrl ?? envValue(env, 'CONNECTR_URL') ?? DEFAULT_BASE_URL;
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      throw new InvalidInputError('invalid_input', 'baseUrl is not a URL (e.g. http://127.0.0.1:5000)', {
        details: [{ field: 'baseUrl', message: 'not a URL' }],
      });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new InvalidInputError('invalid_input', 'baseUrl must be an http or https URL', {
        details: [{ field: 'baseUrl', message: 'not http(s)' }],
      });
    if (url.username !== '' || url.password !== '')
      throw new InvalidInputError('invalid_input', 'baseUrl must not hold a user name or password', {
        details: [{ field: 'baseUrl', message: 'holds credentials' }],
      });
    this.baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
    this.#retryBaseMs = options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    this.#headers = { ...(options.headers ?? {}) };
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0)
      throw new InvalidInputError('invalid_input', 'timeoutMs must be a number above 0');
    if (!Number.isInteger(this.maxRetries) || this.maxRetries < 0)
      throw new InvalidInputError('invalid_input', 'maxRetries must be a whole number, 0 or more');
  }

  /** Whether an API key is configured (the key itself is never exposed). */
  get hasApiKey(): boolean {
    return this.#apiKey !== undefined && this.#apiKey !== '';
  }

  toJSON(): Record<string, unknown> {
    return { baseUrl: this.baseUrl, timeoutMs: this.timeoutMs, maxRetries: this.maxRetries };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `ConnectrClient { baseUrl: '${this.baseUrl}', apiKey: ${this.hasApiKey ? '[REDACTED]' : 'none'} }`;
  }

  // ---- operations -------------------------------------------------------------------------

  /** `GET /health` (no key): the process runs. */
  health(options?: RequestOptions): Promise<Health> {
    return this.#json('GET', '/health', { ...options, auth: false });
  }

  /** `GET /ready` (no key): the database answers; else UnavailableError. */
  ready(options?: RequestOptions): Promise<Ready> {
    return this.#json('GET', '/ready', { ...options, auth: false });
  }

  /** `GET /metrics`: Prometheus text. */
  async metrics(options?: RequestOptions): Promise<string> {
    const response = await this.#request('GET', '/metrics', options ?? {});
    return this.#readText(response, 'GET /metrics', options);
  }

  /** `GET /openapi.json` (no key): the OpenAPI 3 document. */
  openapi(options?: RequestOptions): Promise<Record<string, unknown>> {
    return this.#json('GET', '/openapi.json', { ...options, auth: false });
  }

  // ---- connectors -------------------------------------------------------------------------

  async listConnectors(options?: RequestOptions): Promise<ConnectorSummary[]> {
    const answer = await this.#json<{ connectors: ConnectorSummary[] }>('GET', '/api/v1/connectors', options);
    return answer.connectors;
  }

  getConnector(name: string, options?: RequestOptions): Promise<Connector> {
    return this.#json('GET', `/api/v1/connectors/${segment(name, 'connector name')}`, options);
  }

  listEndpoints(name: string, options?: RequestOptions): Promise<ConnectorEndpoints> {
    return this.#json('GET', `/api/v1/connectors/${segment(name, 'connector name')}/endpoints`, options);
  }

  // ---- connections ------------------------------------------------------------------------

  /** `POST /api/v1/connections`: a new, pending connection. Not retried unless `retry: true` (a retry could create two). */
  createConnection(input: CreateConnection, options?: RequestOptions): Promise<Connection> {
    return this.#json('POST', '/api/v1/connections', { ...options, json: input });
  }

  getConnection(id: string, options?: RequestOptions): Promise<Connection> {
    return this.#json('GET', `/api/v1/connections/${segment(id, 'connection id')}`, options);
  }

  /** One page of connections, oldest first; pass `next_cursor` back as `cursor` for the next. */
  listConnections(query: ListConnectionsQuery = {}, options?: RequestOptions): Promise<ConnectionPage> {
    return this.#json('GET', '/api/v1/connections', { ...options, query: { ...query } });
  }

  /** Every connection matching the filters, page after page (`for await`). */
  async *iterConnections(
    query: Omit<ListConnectionsQuery, 'cursor'> = {},
    options?: RequestOptions,
  ): AsyncGenerator<Connection, void, undefined> {
    let cursor: string | undefined;
    const seen = new Set<string>();
    for (let page = 0; page < MAX_CONNECTION_PAGES; page++) {
      const answer = await this.listConnections(cursor === undefined ? query : { ...query, cursor }, options);
      yield* answer.connections;
      if (answer.next_cursor === null) return;
      if (seen.has(answer.next_cursor))
        throw new ConnectrError('internal', 'the server gave the same cursor twice; stopped', {});
      seen.add(answer.next_cursor);
      cursor = answer.next_cursor;
    }
  }

  /** `DELETE /api/v1/connections/{id}`: revokes the grant at the provider where it can, then deletes. */
  deleteConnection(id: string, options?: RequestOptions): Promise<Deleted> {
    return this.#json('DELETE', `/api/v1/connections/${segment(id, 'connection id')}`, options);
  }

  /** `PUT /api/v1/connections/{id}/credentials`: stores an API key, a password or an OAuth token set. */
  putCredentials(id: string, credentials: Credentials, options?: RequestOptions): Promise<Connection> {
    return this.#json('PUT', `/api/v1/connections/${segment(id, 'connection id')}/credentials`, {
      ...options,
      json: credentials,
    });
  }

  /** `GET /api/v1/connections/{id}/token`: the access token (keys created with --allow-token only; else ForbiddenError). */
  getToken(id: string, options?: RequestOptions): Promise<Token> {
    return this.#json('GET', `/api/v1/connections/${segment(id, 'connection id')}/token`, options);
  }

  // ---- OAuth ------------------------------------------------------------------------------

  /** `POST /api/v1/oauth/authorize`: starts a browser sign-in; send the user to `authorization_url`. */
  authorize(input: AuthorizeRequest, options?: RequestOptions): Promise<Authorization> {
    return this.#json('POST', '/api/v1/oauth/authorize', { ...options, json: input });
  }

  /** `POST /api/v1/oauth/callback`: hands over the code your own redirect_uri received. */
  oauthCallback(input: CallbackRequest, options?: RequestOptions): Promise<CallbackResult> {
    return this.#json('POST', '/api/v1/oauth/callback', { ...options, json: input });
  }

  /** `PUT /api/v1/oauth-apps/{connector}`: the project's own OAuth app for a connector. */
  putOAuthApp(connector: string, app: OAuthAppInput, options?: RequestOptions): Promise<OAuthApp> {
    return this.#json('PUT', `/api/v1/oauth-apps/${segment(connector, 'connector name')}`, {
      ...options,
      json: app,
    });
  }

  async listOAuthApps(options?: RequestOptions): Promise<OAuthApp[]> {
    const answer = await this.#json<{ oauth_apps: OAuthApp[] }>('GET', '/api/v1/oauth-apps', options);
    return answer.oauth_apps;
  }

  deleteOAuthApp(connector: string, options?: RequestOptions): Promise<OAuthAppDeleted> {
    return this.#json('DELETE', `/api/v1/oauth-apps/${segment(connector, 'connector name')}`, options);
  }

  // ---- Connect ---------------------------------------------------------------------------

  /**
   * `POST /api/v1/connect/sessions`: a Connect page for one end user; open `connect_url` in the
   * browser (a redirect, or `openConnect` for a popup). Not retried unless `retry: true`.
   */
  async createConnectSession(input: CreateConnectSession, options?: RequestOptions): Promise<ConnectSession> {
    return this.#json('POST', '/api/v1/connect/sessions', { ...options, json: input });
  }

  async getConnectSettings(options?: RequestOptions): Promise<ConnectSettings> {
    return this.#json('GET', '/api/v1/connect/settings', options);
  }

  /** `PUT /api/v1/connect/settings`: the origins the Connect page may return to, post to and be framed by. */
  async setConnectSettings(settings: ConnectSettings, options?: RequestOptions): Promise<ConnectSettings> {
    return this.#json('PUT', '/api/v1/connect/settings', { ...options, json: settings });
  }

  // ---- webhooks --------------------------------------------------------------------------
  // async: a malformed id is a rejected promise like any other failure, not a synchronous throw.

  /**
   * `POST /api/v1/webhooks`: a new endpoint of the project's outgoing webhooks. The answer holds
   * its signing `secret`, shown this once. Not retried unless `retry: true` (a retry could create two).
   */
  async createWebhook(input: CreateWebhook, options?: RequestOptions): Promise<WebhookWithSecret> {
    return this.#json('POST', '/api/v1/webhooks', { ...options, json: input });
  }

  async listWebhooks(options?: RequestOptions): Promise<Webhook[]> {
    const answer = await this.#json<{ webhooks: Webhook[] }>('GET', '/api/v1/webhooks', options);
    return answer.webhooks;
  }

  async getWebhook(id: string, options?: RequestOptions): Promise<Webhook> {
    return this.#json('GET', webhookPath(id), options);
  }

  /** `PATCH /api/v1/webhooks/{id}`: changes the fields given. */
  async updateWebhook(id: string, changes: UpdateWebhook, options?: RequestOptions): Promise<Webhook> {
    return this.#json('PATCH', webhookPath(id), { ...options, json: changes });
  }

  /** `DELETE /api/v1/webhooks/{id}`: the endpoint and its deliveries, pending ones included. */
  async deleteWebhook(id: string, options?: RequestOptions): Promise<WebhookDeleted> {
    return this.#json('DELETE', webhookPath(id), options);
  }

  /**
   * `POST /api/v1/webhooks/{id}/rotate-secret`: the endpoint with a new secret, shown this once.
   * For 24 hours the old one keeps signing beside it (two signatures per delivery), so
   * receivers can switch over. Not retried unless `retry: true`.
   */
  async rotateWebhookSecret(id: string, options?: RequestOptions): Promise<WebhookWithSecret> {
    return this.#json('POST', `${webhookPath(id)}/rotate-secret`, options);
  }

  /** `POST /api/v1/webhooks/{id}/test`: queues a `webhook.test` event for this endpoint alone. */
  async testWebhook(id: string, options?: RequestOptions): Promise<QueuedEvent> {
    return this.#json('POST', `${webhookPath(id)}/test`, options);
  }

  /** `GET /api/v1/webhooks/{id}/deliveries`: its deliveries, newest first, each with its last attempt. */
  async listWebhookDeliveries(
    id: string,
    query: ListWebhookDeliveriesQuery = {},
    options?: RequestOptions,
  ): Promise<WebhookDelivery[]> {
    const answer = await this.#json<{ deliveries: WebhookDelivery[] }>(
      'GET',
      `${webhookPath(id)}/deliveries`,
      {
        ...options,
        query: { ...query },
      },
    );
    return answer.deliveries;
  }

  /**
   * `POST /api/v1/webhooks/{id}/deliveries/{event_id}/redeliver`: that event is due again (with
   * the same webhook-id, so a receiver that keeps ids sees a duplicate); answers its delivery.
   */
  async redeliverWebhook(id: string, eventId: string, options?: RequestOptions): Promise<WebhookDelivery> {
    return this.#json(
      'POST',
      `${webhookPath(id)}/deliveries/${segment(eventId, 'event id')}/redeliver`,
      options,
    );
  }

  // ---- execute ----------------------------------------------------------------------------

  /**
   * `POST /api/v1/proxy/execute`: runs one endpoint. The result's `body` is parsed JSON, text,
   * a Uint8Array (binary answers) or null. A POST: retried only with `{ retry: true }`.
   */
  async execute<T = unknown>(input: ExecuteRequest, options?: RequestOptions): Promise<ExecuteResult<T>> {
    const answer = await this.#json<ExecuteResult & { body: unknown }>('POST', '/api/v1/proxy/execute', {
      ...options,
      json: executeBody(input),
    });
    if (answer.encoding === 'base64') {
      if (typeof answer.body !== 'string')
        throw new ConnectrError('internal', 'execute answered encoding base64 without a string body');
      return { ...answer, body: fromBase64(answer.body) as T };
    }
    return answer as ExecuteResult<T>;
  }

  /**
   * `POST /api/v1/proxy/execute` with `all: true`: every item of every page, read from the
   * NDJSON stream as it arrives. An error before the first item is thrown by the first
   * iteration; one the server reports after it (the stream's last line) is thrown after the
   * items before it. Leaving the loop early closes the stream (the server stops paginating).
   */
  async *executeAll<T = unknown>(
    input: ExecuteAllRequest,
    options?: RequestOptions,
  ): AsyncGenerator<T, void, undefined> {
    const { max_pages, limit, ...rest } = input;
    const body = {
      ...executeBody(rest),
      all: true,
      ...(max_pages === undefined ? {} : { max_pages }),
      ...(limit === undefined ? {} : { limit }),
    };
    const response = await this.#request('POST', '/api/v1/proxy/execute', {
      ...options,
      json: body,
      stream: true,
    });
    const requestId = response.headers.get('x-request-id') ?? undefined;
    const what = 'POST /api/v1/proxy/execute (all)';
    const stream = withIdleTimeout(
      response.body,
      options?.timeoutMs ?? this.timeoutMs,
      what,
      requestId,
      options?.signal,
    );
    if (stream === null) return;
    for await (const line of ndjsonLines(stream, what, requestId)) {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new ConnectrError('internal', `${what}: a line of the stream is not JSON`, {
          requestId,
          cause: error,
        });
      }
      const error = isErrorLine(value) ? envelopeError(value) : undefined;
      if (error) {
        throw errorFor(error.code, error.message, {
          details: error.details,
          hint: error.hint,
          requestId,
        });
      }
      yield value as T;
    }
  }

  // ---- raw proxy --------------------------------------------------------------------------

  /**
   * `/api/v1/connections/{id}/proxy/{path}`: a request of your own to the connection's API,
   * its credential added. Returns the Response as it is (any status, body unread and streamed;
   * a connectr error such as 404 for an unknown connection comes with the JSON envelope:
   * `errorFromResponse` reads it). A stream body is sent as it is read and never retried.
   */
  async proxy(connectionId: string, path: string, options: ProxyOptions = {}): Promise<Response> {
    const method = (options.method ?? 'GET').toUpperCase();
    if (!PROXY_METHODS.has(method))
      throw new InvalidInputError('invalid_input', `the raw proxy does not take ${method}`, {
        details: [{ field: 'method', message: `one of ${[...PROXY_METHODS].join(', ')}` }],
      });
    const route = `/api/v1/connections/${segment(connectionId, 'connection id')}/proxy/${checkProxyPath(path)}`;
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.host !== undefined) headers['x-connectr-host'] = options.host;
    let body: RequestBody | null | undefined;
    let replayable = true;
    const given = options.body;
    if (given === undefined || given === null) body = undefined;
    else if (typeof given === 'string' || given instanceof Uint8Array || given instanceof ArrayBuffer)
      body = given;
    else if (given instanceof ReadableStream) {
      body = given;
      replayable = false;
    } else if (isAsyncIterable(given)) {
      body = ReadableStream.from(given);
      replayable = false;
    } else throw new InvalidInputError('invalid_input', 'the proxy body must be a stream, bytes or a string');
    const response = await this.#request(method, route, {
      ...options,
      headers,
      query: options.query,
      body,
      replayable,
      stream: true,
      anyStatus: true,
    });
    // A status that has no body (or a HEAD) cannot be rebuilt with one.
    const bodiless = method === 'HEAD' || [204, 205, 304].includes(response.status);
    if (bodiless) await response.body?.cancel().catch(() => undefined);
    const stream = withIdleTimeout(
      bodiless ? null : response.body,
      options.timeoutMs ?? this.timeoutMs,
      `${method} ${route}`,
      response.headers.get('x-request-id') ?? undefined,
      options.signal,
    );
    return new Response(stream, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }

  // ---- the one request path ---------------------------------------------------------------

  async #json<T>(method: string, path: string, call: Call = {}): Promise<T> {
    const response = await this.#request(method, path, call);
    const text = await this.#readText(response, `${method} ${path}`, call);
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new ConnectrError('internal', `${method} ${path}: the answer is not JSON`, {
        status: response.status,
        requestId: response.headers.get('x-request-id') ?? undefined,
        cause: error,
      });
    }
  }

  async #readText(response: Response, what: string, call: RequestOptions = {}): Promise<string> {
    const requestId = response.headers.get('x-request-id') ?? undefined;
    const stream = withIdleTimeout(
      response.body,
      call.timeoutMs ?? this.timeoutMs,
      what,
      requestId,
      call.signal,
    );
    if (stream === null) return '';
    return new Response(stream).text();
  }

  #url(path: string, query: Record<string, unknown> | undefined): string {
    const url = `${this.baseUrl}${path}`;
    if (query === undefined) return url;
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined || value === null) continue;
      const values: unknown[] = Array.isArray(value) ? value : [value];
      for (const v of values) search.append(key, String(v));
    }
    const text = search.toString();
    return text === '' ? url : `${url}?${text}`;
  }

  /** Waits before retry `attempt` (0-based): Retry-After when the server gave one (capped), else exponential back-off with jitter. */
  #delay(attempt: number, retryAfter: number | undefined): number {
    if (retryAfter !== undefined) return Math.min(retryAfter, this.#maxRetryAfterMs);
    const ceiling = Math.min(this.#maxRetryDelayMs, this.#retryBaseMs * 2 ** attempt);
    // "Equal jitter": half fixed, half random, so retries of many clients spread out.
    return ceiling / 2 + this.#random() * (ceiling / 2);
  }

  async #request(method: string, path: string, call: Call): Promise<Response> {
    const what = `${method} ${path}`;
    const retries = call.maxRetries ?? this.maxRetries;
    const mayRetry = (call.retry === true || IDEMPOTENT.has(method)) && call.replayable !== false;
    const timeoutMs = call.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = {
      'user-agent': 'connectr-sdk-typescript/0.1.0',
      accept: 'application/json',
      ...this.#headers,
      ...(call.headers ?? {}),
    };
    if (call.auth !== false && this.#apiKey !== undefined && this.#apiKey !== '')
      headers.authorization = `Bearer ${this.#apiKey}`;
    let body: RequestBody | null | undefined = call.body;
    if (call.json !== undefined) {
      body = JSON.stringify(call.json);
      headers['content-type'] = 'application/json';
    }
    const url = this.#url(path, call.query);
    // Checked here, so that a bad header (CR/LF, a non-token name) is the caller's error, not a
    // "connection error" retried three times.
    for (const [name, value] of Object.entries(headers)) {
      try {
        new Headers([[name, value]]);
      } catch {
        throw new InvalidInputError(
          'invalid_input',
          `header "${name.slice(0, 64)}" is not a valid HTTP header`,
          {
            details: [
              { field: `headers.${name.slice(0, 64)}`, message: 'not a valid HTTP header name or value' },
            ],
          },
        );
      }
    }

    for (let attempt = 0; ; attempt++) {
      const timeout = new AbortController();
      const timer = setTimeout(() => {
        timeout.abort();
      }, timeoutMs);
      const signal = call.signal ? AbortSignal.any([call.signal, timeout.signal]) : timeout.signal;
      let response: Response;
      try {
        const init: RequestInit & { duplex?: 'half' } = { method, headers, signal, redirect: 'manual' };
        if (body !== undefined && body !== null) {
          init.body = body;
          if (body instanceof ReadableStream) init.duplex = 'half';
        }
        response = await this.#fetch(url, init);
      } catch (error) {
        clearTimeout(timer);
        if (call.signal?.aborted) throw call.signal.reason;
        const failure = timeout.signal.aborted
          ? new ConnectrTimeoutError(`${what}: no answer within ${timeoutMs} ms`, { cause: error })
          : (translateError(error, what, undefined, undefined) as ConnectrError);
        if (!mayRetry || attempt >= retries) throw failure;
        await this.#sleep(this.#delay(attempt, undefined), call.signal);
        continue;
      }
      clearTimeout(timer);

      if (response.ok || (call.anyStatus === true && !RETRY_STATUSES.has(response.status))) return response;
      if (RETRY_STATUSES.has(response.status) && mayRetry && attempt < retries) {
        const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
        await response.body?.cancel().catch(() => undefined);
        await this.#sleep(this.#delay(attempt, retryAfter), call.signal);
        continue;
      }
      if (call.anyStatus === true) return response;
      throw await this.#errorOf(response, what, call);
    }
  }

  async #errorOf(response: Response, what: string, call: RequestOptions): Promise<ConnectrError> {
    const requestId = response.headers.get('x-request-id') ?? undefined;
    let text = '';
    try {
      text = await this.#readText(response, what, call);
    } catch {
      // A body that fails to arrive: the status still says what happened.
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const error = envelopeError(parsed);
    if (error) {
      return errorFor(error.code, error.message, {
        status: response.status,
        details: error.details,
        hint: error.hint,
        requestId,
      });
    }
    return new ConnectrError(
      `http_${response.status}`,
      `${what}: HTTP ${response.status} without an error envelope`,
      {
        status: response.status,
        requestId,
      },
    );
  }
}

/** The server's typed error in a raw-proxy Response, if it is a connectr error envelope (reads the body). */
export async function errorFromResponse(response: Response): Promise<ConnectrError | undefined> {
  if (response.ok) return undefined;
  if (!(response.headers.get('content-type') ?? '').includes('application/json')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await response.text());
  } catch {
    return undefined;
  }
  const error = envelopeError(parsed);
  if (!error || !Array.isArray((parsed as { error: { details?: unknown } }).error.details)) return undefined;
  return errorFor(error.code, error.message, {
    status: response.status,
    details: error.details,
    hint: error.hint,
    requestId: response.headers.get('x-request-id') ?? undefined,
  });
}

function executeBody(input: ExecuteRequest): Record<string, unknown> {
  const { bytes, ...rest } = input;
  if (bytes !== undefined && rest.body !== undefined)
    throw new InvalidInputError('invalid_input', 'give body or bytes, not both', {
      details: [{ field: 'bytes', message: 'give body or bytes, not both' }],
    });
  return bytes === undefined ? { ...rest } : { ...rest, body_base64: toBase64(bytes) };
}

function isErrorLine(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    Object.hasOwn(value, 'error')
  );
}

/** The lines of an NDJSON stream, as they arrive; a line over MAX_LINE_BYTES is an error. */
async function* ndjsonLines(
  stream: ReadableStream<Uint8Array>,
  what: string,
  requestId: string | undefined,
): AsyncGenerator<string, void, undefined> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line !== '') yield line;
      }
      if (pending.length > MAX_LINE_BYTES)
        throw new ConnectrError(
          'internal',
          `${what}: an NDJSON line is longer than ${MAX_LINE_BYTES} bytes`,
          {
            requestId,
          },
        );
    }
    pending += decoder.decode();
    if (pending.trim() !== '') yield pending.trim();
  } finally {
    // Leaving early (break, an error) closes the stream: the server stops paginating.
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
