import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  json,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { API_KEY_SCOPES } from '../contracts.js';

/**
 * The server's tables, the one schema drizzle-kit generates the migrations from
 * (`npm run db:generate`). Identifiers are random text with a prefix (`conn_…`, see ids.ts),
 * never sequential. Columns ending in `_encrypted` hold key-ring ciphertexts (crypto.ts), never
 * the secret itself; `connectr serve rotate-key` rewrites exactly those columns (rotate.ts).
 * Every row below projects carries its project_id, and every query filters on it.
 */

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();

export const projects = pgTable('projects', {
  id: text('id').primaryKey(),
  /** What operators type: `connectr serve keys create --project <name>`. */
  name: text('name').notNull().unique(),
  createdAt: createdAt(),
});

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** The visible part of the key (`cnr_<prefix>_…`): finds the row, shown by `keys list`. */
    prefix: text('prefix').notNull(),
    /** SHA-256 of the whole key, hex. The key itself is never stored. */
    secretHash: text('secret_hash').notNull(),
    allowToken: boolean('allow_token').notNull().default(false),
    /** What the key reaches (contracts.ts, API_KEY_SCOPES): a project's routes, or /metrics alone. */
    scope: text('scope', { enum: API_KEY_SCOPES }).notNull().default('project'),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [
    check(
      'api_keys_scope_check',
      sql.raw(`${t.scope.name} in (${API_KEY_SCOPES.map((s) => `'${s}'`).join(', ')})`),
    ),
    uniqueIndex('api_keys_prefix_unique').on(t.prefix),
    index('api_keys_project_idx').on(t.projectId),
  ],
);

/** The OAuth client a project signs its users in with, per connector. */
export const oauthApps = pgTable(
  'oauth_apps',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    connector: text('connector').notNull(),
    clientId: text('client_id').notNull(),
    clientSecretEncrypted: text('client_secret_encrypted'),
    /** What the provider signs its pushes with (app secret, signing secret, webhook secret). */
    webhookSecretEncrypted: text('webhook_secret_encrypted'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('oauth_apps_project_connector_unique').on(t.projectId, t.connector)],
);

export const CONNECTION_STATUSES = ['pending', 'active', 'needs_reauth', 'revoked'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

export const connections = pgTable(
  'connections',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    connector: text('connector').notNull(),
    /**
     * The connector's version its calls use (core/connector/versions.ts), set at creation and
     * moved by PATCH; rows older than versions were all made with version 1.
     */
    connectorVersion: integer('connector_version').notNull().default(1),
    name: text('name').notNull(),
    userId: text('user_id'),
    status: text('status', { enum: CONNECTION_STATUSES }).notNull().default('pending'),
    /** Who signed in, as the provider names them (email, account id…). */
    accountIdentity: text('account_identity'),
    /**
     * The key the provider's pushes name this account by, when not its identity (Dropbox's
     * account_id, Slack's team_id): read at the connector's webhooks.identity_key at sign-in.
     */
    providerAccountId: text('provider_account_id'),
    scopes: text('scopes')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    lastRefreshAt: timestamp('last_refresh_at', { withTimezone: true }),
    /** The last call through it, at most a few minutes late (server/health/usage.ts). */
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    /** The last health check (refresh and the connector's health endpoint), whatever its outcome. */
    lastCheckedAt: timestamp('last_checked_at', { withTimezone: true }),
    /** The last failure's message; null once it works again. */
    lastError: text('last_error'),
    /** Its code (refresh_rejected, health_check_failed...); null beside a message older than codes. */
    lastErrorCode: text('last_error_code'),
    /** The app's labels (a Connect session's `tags`): string to string, bounded by the routes. */
    tags: jsonb('tags')
      .$type<Record<string, string>>()
      .notNull()
      .default(sql`'{}'::jsonb`),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check(
      'connections_status_check',
      sql.raw(`${t.status.name} in (${CONNECTION_STATUSES.map((s) => `'${s}'`).join(', ')})`),
    ),
    // Listing is by project in creation order, paged by (created_at, id).
    index('connections_project_created_idx').on(t.projectId, t.createdAt, t.id),
    index('connections_project_user_idx').on(t.projectId, t.userId),
    index('connections_project_connector_idx').on(t.projectId, t.connector),
    // A provider's push names accounts, not projects: found across projects by connector.
    index('connections_connector_identity_idx').on(t.connector, t.accountIdentity),
    index('connections_connector_account_idx').on(t.connector, t.providerAccountId),
  ],
);

/** A connection's secret: the token set (or API key, password) as encrypted JSON. */
export const credentials = pgTable(
  'credentials',
  {
    connectionId: text('connection_id')
      .primaryKey()
      .references(() => connections.id, { onDelete: 'cascade' }),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    secretEncrypted: text('secret_encrypted').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('credentials_project_idx').on(t.projectId)],
);

/** One browser sign-in in flight: found by its state, used at most once, until it expires. */
export const oauthSessions = pgTable(
  'oauth_sessions',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    /**
     * Null while the sign-in belongs to no connection yet (the old system's form, started with a
     * connector_type): it is bound to one when it completes.
     */
    connectionId: text('connection_id').references(() => connections.id, { onDelete: 'cascade' }),
    /** The connector signed in to: a completion into a connection of another connector is refused. */
    connector: text('connector').notNull(),
    /**
     * Unique across projects, not only within one: the provider's redirect to
     * GET /oauth/callback carries no API key, so the state alone finds the session.
     */
    state: text('state').notNull(),
    pkceVerifierEncrypted: text('pkce_verifier_encrypted').notNull(),
    redirectUri: text('redirect_uri').notNull(),
    returnUrl: text('return_url'),
    /** Anything else the flow needs back at the callback (requested scopes…). */
    extra: jsonb('extra').$type<Record<string, unknown>>(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('oauth_sessions_state_unique').on(t.state),
    index('oauth_sessions_project_connection_idx').on(t.projectId, t.connectionId),
  ],
);

/** Where a project's connection events are sent (docs/webhooks.md), signed with its secret. */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    /** The event types it receives; empty: all of them. */
    events: text('events')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    description: text('description'),
    /** `whsec_…`, sealed. */
    secretEncrypted: text('secret_encrypted').notNull(),
    /** The secret before the last rotation: it signs too until previous_secret_expires_at. */
    previousSecretEncrypted: text('previous_secret_encrypted'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    /** Set when the receiver answered 410 Gone; PATCH disabled: false enables it again. */
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    disabledReason: text('disabled_reason'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('webhook_endpoints_project_idx').on(t.projectId, t.createdAt, t.id)],
);

/**
 * The outbox: every event, written in the transaction of the change that caused it. `seq`
 * orders one connection's events (they are written after its row is locked by the change).
 */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    /** `msg_…`: the webhook-id header of every attempt. */
    id: text('id').primaryKey(),
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    /** Not a foreign key: a connection.deleted event outlives its connection. */
    connectionId: text('connection_id'),
    /** `data` of the body, as JSON text (kept as written: the signature covers bytes). */
    payload: json('payload').notNull(),
    /**
     * A provider's id of what it pushed (GitHub's X-GitHub-Delivery, per connection): a push the
     * provider sends again is not recorded twice while its event is kept.
     */
    dedupeKey: text('dedupe_key'),
    createdAt: createdAt(),
  },
  (t) => [
    index('webhook_events_project_idx').on(t.projectId, t.createdAt),
    uniqueIndex('webhook_events_project_dedupe_unique').on(t.projectId, t.dedupeKey),
  ],
);

export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** One event to one endpoint: its attempts so far and the next one. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    eventId: text('event_id')
      .notNull()
      .references(() => webhookEvents.id, { onDelete: 'cascade' }),
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    /** The event's, copied: a connection's later delivery waits for its earlier ones. */
    connectionId: text('connection_id'),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    state: text('state', { enum: DELIVERY_STATES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    /** Due from then; while an attempt is in flight, the end of its lease. */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull(),
    /** Retried until then (3 days after the event, or after a redeliver). */
    retryUntil: timestamp('retry_until', { withTimezone: true }).notNull(),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true }),
    lastStatus: integer('last_status'),
    lastLatencyMs: integer('last_latency_ms'),
    lastError: text('last_error'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.eventId, t.endpointId] }),
    check(
      'webhook_deliveries_state_check',
      sql.raw(`${t.state.name} in (${DELIVERY_STATES.map((s) => `'${s}'`).join(', ')})`),
    ),
    index('webhook_deliveries_due_idx').on(t.state, t.nextAttemptAt),
    index('webhook_deliveries_order_idx').on(t.endpointId, t.connectionId, t.state, t.seq),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt),
  ],
);

/**
 * A subscription connectr made at a provider for a connection (Microsoft Graph, Gmail's
 * users.watch): the provider's id finds the connection a push concerns; the client state is
 * the secret Graph echoes in each notification; renewed before expires_at.
 */
export const providerSubscriptions = pgTable(
  'provider_subscriptions',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    connector: text('connector').notNull(),
    /** The provider's id of the subscription (Graph's subscriptionId). */
    subscriptionId: text('subscription_id').notNull(),
    resource: text('resource').notNull(),
    clientStateEncrypted: text('client_state_encrypted'),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('provider_subscriptions_connector_subscription_unique').on(t.connector, t.subscriptionId),
    index('provider_subscriptions_expires_idx').on(t.expiresAt),
    index('provider_subscriptions_connection_idx').on(t.projectId, t.connectionId),
  ],
);

export const CALL_KINDS = ['execute', 'proxy', 'mcp'] as const;
export type CallKind = (typeof CALL_KINDS)[number];

/**
 * The call log (server/call-log): one row per execute, raw-proxy or MCP tool call, written in
 * batches off the request path and pruned after CONNECTR_CALL_LOG_RETENTION. Never a token, a
 * key or a request or answer body: the endpoint's name, or the method and path with the
 * query's secret values removed. No foreign keys: a row outlives its connection (the log
 * says what was called), and a batch never fails on a row deleted meanwhile.
 */
export const callLogs = pgTable(
  'call_logs',
  {
    /** The order rows were written in: a page's cursor, and where `serve logs --follow` goes on from. */
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** When the call started. */
    at: timestamp('at', { withTimezone: true, precision: 3 }).notNull(),
    projectId: text('project_id').notNull(),
    connectionId: text('connection_id').notNull(),
    connector: text('connector').notNull(),
    /** The connector's version the call ran with: the connection's pinned one. */
    connectorVersion: integer('connector_version'),
    kind: text('kind', { enum: CALL_KINDS }).notNull(),
    /** execute and MCP: the endpoint's name. */
    endpoint: text('endpoint'),
    /** The raw proxy: the method, and the path with the query's secret values removed. */
    method: text('method'),
    path: text('path'),
    /** The upstream's last status; null when nothing was answered (refused, network failure). */
    status: integer('status'),
    durationMs: integer('duration_ms').notNull(),
    /** Request body bytes sent upstream, answer body bytes received; null when not known. */
    bytesSent: bigint('bytes_sent', { mode: 'number' }),
    bytesReceived: bigint('bytes_received', { mode: 'number' }),
    retries: integer('retries').notNull().default(0),
    /** connectr's error code when the call failed on its side (needs_reauth, timeout…). */
    errorCode: text('error_code'),
    requestId: text('request_id').notNull(),
  },
  (t) => [
    check(
      'call_logs_kind_check',
      sql.raw(`${t.kind.name} in (${CALL_KINDS.map((s) => `'${s}'`).join(', ')})`),
    ),
    index('call_logs_project_idx').on(t.projectId, t.id),
    index('call_logs_connection_idx').on(t.projectId, t.connectionId, t.id),
    index('call_logs_at_idx').on(t.at),
  ],
);

/**
 * The state of one rate-limit key (core/limits/gcra.ts): a project's connector, a scope value
 * (a connection, or the whole connector) and one of its limits. Every instance on the database
 * takes its turns here, in one statement each (rate-limits.ts). Times in ms since the epoch.
 */
export const rateLimitState = pgTable('rate_limit_state', {
  key: text('key').primaryKey(),
  /** GCRA's theoretical arrival time of the next evenly spaced call. */
  tat: doublePrecision('tat').notNull().default(0),
  /** Set by the provider's own signals (Retry-After, a reset time): nothing goes before it. */
  pausedUntil: doublePrecision('paused_until').notNull().default(0),
});

/** A project's own rate limits for a connector, replacing the definition's (PUT /connectors/{name}/limits). */
export const rateLimitOverrides = pgTable(
  'rate_limit_overrides',
  {
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    connector: text('connector').notNull(),
    /** The limits, as core/limits/spec.ts's RateLimitRule list. */
    limits: jsonb('limits').notNull(),
    maxWaitMs: integer('max_wait_ms'),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.connector] })],
);

/**
 * A Connect session (docs/connect.md): one end user's visit to the Connect page, opened by a
 * token only its SHA-256 is stored of, for 30 minutes, used up by the connection it makes.
 */
export const connectSessions = pgTable(
  'connect_sessions',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    /** SHA-256 of the whole token, hex: the token itself is never stored. */
    tokenHash: text('token_hash').notNull(),
    endUserId: text('end_user_id').notNull(),
    endUserEmail: text('end_user_email'),
    endUserDisplayName: text('end_user_display_name'),
    /** The connectors the page offers; null: every one a user can connect. */
    allowedConnectors: text('allowed_connectors').array(),
    /** A connection to sign in again, instead of a new one. */
    connectionId: text('connection_id').references(() => connections.id, { onDelete: 'cascade' }),
    returnUrl: text('return_url'),
    tags: jsonb('tags')
      .$type<Record<string, string>>()
      .notNull()
      .default(sql`'{}'::jsonb`),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** Set once the session made (or signed in) a connection: it opens nothing after. */
    usedAt: timestamp('used_at', { withTimezone: true }),
    /** The connection it made. */
    resultConnectionId: text('result_connection_id'),
  },
  (t) => [
    uniqueIndex('connect_sessions_token_unique').on(t.tokenHash),
    index('connect_sessions_expires_idx').on(t.expiresAt),
  ],
);

/** A project's Connect settings: the origins its Connect page may return to, post to and be framed by. */
export const connectSettings = pgTable('connect_settings', {
  projectId: text('project_id')
    .primaryKey()
    .references(() => projects.id, { onDelete: 'cascade' }),
  allowedOrigins: text('allowed_origins')
    .array()
    .notNull()
    .default(sql`'{}'::text[]`),
  updatedAt: updatedAt(),
});

/**
 * The admin console's sign-ins (console/sessions.ts): a session, or a one-time sign-in link of
 * `connectr serve console` (kind 'link', valid a minute, deleted when used). Only the SHA-256 of
 * the random token is stored, so the table gives no usable cookie; every instance on the
 * database reads it, and a restart keeps it. A session signed in with an API key ends with it.
 */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    /** SHA-256 of the token, hex. */
    tokenHash: text('token_hash').primaryKey(),
    kind: text('kind', { enum: ['session', 'link'] }).notNull(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    /** The key typed in to sign in (none for a link's session). */
    apiKeyId: text('api_key_id').references(() => apiKeys.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('console_sessions_expires_idx').on(t.expiresAt)],
);

/** Every column holding a key-ring ciphertext, with its row key: what rotate-key rewrites. */
export const ENCRYPTED_COLUMNS = [
  { table: 'oauth_apps', column: 'client_secret_encrypted', key: 'id' },
  { table: 'oauth_apps', column: 'webhook_secret_encrypted', key: 'id' },
  { table: 'provider_subscriptions', column: 'client_state_encrypted', key: 'id' },
  { table: 'credentials', column: 'secret_encrypted', key: 'connection_id' },
  { table: 'oauth_sessions', column: 'pkce_verifier_encrypted', key: 'id' },
  { table: 'webhook_endpoints', column: 'secret_encrypted', key: 'id' },
  { table: 'webhook_endpoints', column: 'previous_secret_encrypted', key: 'id' },
] as const;
