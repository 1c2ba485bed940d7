/**
 * The JSON shapes of `connectr serve`'s answers and request bodies, as its routes declare them
 * (src/server/routes/**; GET /openapi.json on a running server). Field names are the API's own
 * (snake_case), so docs/server.md reads the same as this package.
 */
import type { RequestOptions } from './client.js';
import type { SubscribableEventType, WebhookEventType } from './webhooks.js';

export type AuthType = 'oauth2' | 'api_key' | 'basic' | 'none';

export interface Health {
  status: 'ok';
  version: string;
}

export interface Ready {
  status: 'ready';
}

export interface ConnectorSummary {
  name: string;
  display_name: string;
  description: string;
  version: string;
  docs_url: string;
  auth_type: AuthType;
  scopes: string[];
  endpoint_count: number;
}

export interface Param {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object' | 'file';
  items?: 'string' | 'integer' | 'number' | 'boolean';
  required: boolean;
  location: 'path' | 'query' | 'header' | 'body' | 'form' | 'json_header' | 'raw';
  description?: string;
  enum?: (string | number | boolean)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  secret: boolean;
}

export interface Endpoint {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  host: string;
  path: string;
  summary: string;
  description?: string;
  docs_url?: string;
  deprecated: boolean;
  scopes: string[];
  params: Param[];
  pagination: { style: 'page_token' | 'cursor' | 'next_link' | 'link_header' | 'offset' } | null;
  response_kind: 'json' | 'text' | 'binary' | 'auto';
}

export interface Connector extends ConnectorSummary {
  auth: { type: AuthType; grants?: string[]; scopes: string[]; pkce?: boolean };
  hosts: { name: string; url: string }[];
  endpoints: Endpoint[];
}

export interface ConnectorEndpoints {
  connector: string;
  endpoints: Endpoint[];
}

export type ConnectionStatus = 'pending' | 'active' | 'needs_reauth' | 'revoked';

export interface Connection {
  id: string;
  connector_type: string;
  /** The connector version its calls use (servers older than versions leave it out). */
  connector_version?: number;
  name: string;
  user_id: string | null;
  status: ConnectionStatus;
  account_identity: string | null;
  scopes: string[];
  created_at: string;
  updated_at: string;
  last_refresh_at: string | null;
  /** The last call through the connection. */
  last_used_at: string | null;
  /** The last health check. */
  last_checked_at: string | null;
  /** Why it last failed (a refused refresh, a failed health check); never a secret. */
  last_error: { code: string; message: string } | null;
  /** Labels from the Connect session that made it; {} by default. */
  tags: Record<string, string>;
}

export interface CreateConnection {
  /** The connector, e.g. `gmail` (listConnectors() gives them). */
  connector_type: string;
  /** A label for people, 1 to 200 characters. */
  name: string;
  /** Your end user's id, 1 to 255 characters. */
  user_id?: string | null;
  /** The connector version its calls use (default: the newest the server loads). */
  connector_version?: number;
}

export interface ListConnectionsQuery {
  user_id?: string;
  connector_type?: string;
  /** 1 to 200 (server default 50). */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

export interface ConnectionPage {
  connections: Connection[];
  next_cursor: string | null;
}

export interface Deleted {
  deleted: true;
  revoked: boolean;
  revoke_error?: string;
}

/** `{api_key}` for api_key connectors, `{username, password}` for basic ones, a token set for OAuth ones. */
export type Credentials = { api_key: string } | { username: string; password: string } | OAuthTokenSet;

export interface OAuthTokenSet {
  access_token: string;
  refresh_token?: string;
  token_type?: string;
  /** RFC 3339 with an offset, e.g. `2030-01-01T00:00:00Z`; or expires_in, not both. */
  expires_at?: string;
  /** Seconds from now. */
  expires_in?: number;
  scopes?: string[];
  /** Who signed in, shown as account_identity. */
  account?: string;
}

export interface Token {
  access_token: string;
  token_type: string;
  expires_at: string | null;
}

/**
 * Start a browser sign-in for a connection, or (the old form) for a connector: that sign-in
 * belongs to no connection until `oauthCallback` completes it into one.
 */
export type AuthorizeRequest = (
  { connection_id: string; connector_type?: never } | { connector_type: string; connection_id?: never }
) & {
  /** Where the provider sends the browser; default the server's GET /api/v1/oauth/callback. */
  redirect_uri?: string;
  /** Where the browser goes after the sign-in, with `connection_id` and `status=connected` (or `status=error&error=<code>`) added; default a plain page. */
  return_url?: string;
};

export interface Authorization {
  authorization_url: string;
  state: string;
  /** null for a sign-in started with `connector_type`. */
  connection_id: string | null;
  redirect_uri: string;
  expires_at: string;
}

export interface CallbackRequest {
  connection_id: string;
  code: string;
  redirect_uri: string;
  state?: string;
}

export interface CallbackResult {
  connection_id: string;
  connector_type: string;
  status: string;
  account_identity: string | null;
  scopes: string[];
}

export interface OAuthAppInput {
  client_id: string;
  /** Required when the connector's definition says so (Gmail); refused for public clients. */
  client_secret?: string;
}

export interface OAuthApp {
  connector: string;
  client_id: string;
  has_client_secret: boolean;
  created_at: string;
  updated_at: string;
}

export interface OAuthAppDeleted {
  connector: string;
  deleted: true;
}

export interface ExecuteRequest {
  /**
   * The connection (ConnectrClient), or the local account (LocalClient: as `connectr call
   * --account`; "" for the connector's default).
   */
  connection_id: string;
  /**
   * The connector the endpoint belongs to, e.g. `gmail`. ConnectrClient: optional, and when given
   * the server refuses a connection of another connector (400). LocalClient: required.
   */
  connector?: string;
  /** The endpoint's name, e.g. `list_messages` (listEndpoints(connector) gives them). */
  endpoint: string;
  /** Values by param name, as the endpoint declares them. */
  params?: Record<string, unknown>;
  /** A whole request body replacing the body params: a string as it is, anything else as JSON. */
  body?: unknown;
  /** A binary request body (an upload), sent base64-encoded as `body_base64`. */
  bytes?: Uint8Array;
}

export interface ExecuteAllRequest extends ExecuteRequest {
  /** Stop after this many pages. */
  max_pages?: number;
  /** Stop after this many items. */
  limit?: number;
}

export type Encoding = 'json' | 'text' | 'base64' | 'none';

/** The upstream answer of one execute call. `body` is decoded: parsed JSON, text, bytes or null. */
export interface ExecuteResult<T = unknown> {
  /** The upstream API's own status (the execute call itself succeeded). */
  status: number;
  headers: Record<string, string>;
  content_type: string | null;
  /** How the server carried the body; `base64` bodies are decoded to a Uint8Array here. */
  encoding: Encoding;
  body: T;
  /** The JSON some APIs return in a header (Dropbox-API-Result), parsed. */
  result?: unknown;
}

/**
 * What a generated connector class (GmailConnector...) runs its endpoints through:
 * ConnectrClient (a `connectr serve` daemon) or LocalClient (this process, the local CLI's
 * accounts).
 */
export interface ConnectorTransport {
  execute<T = unknown>(input: ExecuteRequest, options?: RequestOptions): Promise<ExecuteResult<T>>;
  executeAll<T = unknown>(
    input: ExecuteAllRequest,
    options?: RequestOptions,
  ): AsyncGenerator<T, void, undefined>;
}

/** An endpoint of the project's outgoing webhooks, as `GET /api/v1/webhooks/{id}` shows it (no secret). */
export interface Webhook {
  /** `wh_…` */
  id: string;
  url: string;
  /** The connection events it receives (every type when it was given none); `webhook.test` always reaches it. */
  events: SubscribableEventType[];
  description: string | null;
  /** True once the receiver answered 410 Gone, or a PATCH disabled it. */
  disabled: boolean;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
}

/** The answer of `createWebhook` and `rotateWebhookSecret`: the endpoint and its signing secret, shown this once. */
export interface WebhookWithSecret extends Webhook {
  /** `whsec_…`: keep it where your receiver reads it; verifyWebhook checks deliveries with it. */
  secret: string;
}

export interface CreateWebhook {
  /** `https://…`, or `http://` to a loopback address (development). */
  url: string;
  /** The events to deliver; default (or empty) all. */
  events?: SubscribableEventType[];
  description?: string | null;
}

/** `PATCH /api/v1/webhooks/{id}`: the fields to change. */
export interface UpdateWebhook {
  url?: string;
  events?: SubscribableEventType[];
  description?: string | null;
  /** false enables an endpoint again after a 410 Gone (its waiting deliveries go out). */
  disabled?: boolean;
}

export interface WebhookDeleted {
  deleted: true;
}

/** `testWebhook`'s answer: the queued `webhook.test` event. */
export interface QueuedEvent {
  /** `msg_…`: its webhook-id header. */
  event_id: string;
}

/** One event's delivery to the endpoint, with its last attempt. */
export interface WebhookDelivery {
  /** `msg_…`: the webhook-id header of every attempt. */
  event_id: string;
  type: WebhookEventType;
  /** `pending` (a next attempt is due), `delivered`, or `failed` (retries ran out). */
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** When it is tried next; null unless pending. */
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  /** The receiver's HTTP status at the last attempt; null when none came. */
  last_status: number | null;
  last_latency_ms: number | null;
  /** Why the last attempt failed (a time-out, a refused connection, a non-2xx); null on success. */
  last_error: string | null;
  created_at: string;
}

export interface ListWebhookDeliveriesQuery {
  /** 1 to 200, newest first (server default 50). */
  limit?: number;
}

/** `POST /api/v1/connect/sessions`: a Connect page for one end user (docs/connect.md). */
export interface CreateConnectSession {
  end_user: { id: string; email?: string; display_name?: string };
  /** The connectors the page offers; default every one it can connect. */
  allowed_connectors?: string[];
  /** Sign this connection in again instead of making a new one. */
  connection_id?: string;
  /** Where the browser goes at the end; its origin must be allowed (setConnectSettings). */
  return_url?: string;
  /** Labels the new connection gets. */
  tags?: Record<string, string>;
}

export interface ConnectSession {
  /** Opens the page for 30 minutes, once; not an API key. */
  token: string;
  /** The page, with the token in its fragment: give it to the browser as it is. */
  connect_url: string;
  expires_at: string;
}

export interface ConnectSettings {
  allowed_origins: string[];
}
