import { sql } from 'drizzle-orm';
import { boolean, check, index, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
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
    lastError: text('last_error'),
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

/** Every column holding a key-ring ciphertext, with its row key: what rotate-key rewrites. */
export const ENCRYPTED_COLUMNS = [
  { table: 'oauth_apps', column: 'client_secret_encrypted', key: 'id' },
  { table: 'oauth_apps', column: 'webhook_secret_encrypted', key: 'id' },
  { table: 'provider_subscriptions', column: 'client_state_encrypted', key: 'id' },
  { table: 'credentials', column: 'secret_encrypted', key: 'connection_id' },
  { table: 'oauth_sessions', column: 'pkce_verifier_encrypted', key: 'id' },
] as const;
