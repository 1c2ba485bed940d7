import * as z from 'zod';
import { CONNECTION_STATUSES } from '../../services/connections.js';
import type { Connection } from '../../services/connections.js';
import { connectionId } from '../../input.js';

/**
 * The public JSON of a connection (snake_case, as the system connectr replaces named it),
 * built field by field from the row: its credential is another table and never part of it.
 */

export const ConnectionShape = z.object({
  id: z.string().describe('The connection id, `conn_…`.'),
  connector_type: z.string().describe('The connector, as in GET /api/v1/connectors.'),
  connector_version: z
    .number()
    .int()
    .describe(
      "The connector's version its calls use: set at creation (default the newest), moved by PATCH /connections/{id}.",
    ),
  name: z.string(),
  user_id: z.string().nullable().describe('Your end user this connection belongs to.'),
  status: z
    .enum(CONNECTION_STATUSES)
    .describe('pending until a credential is stored; active after; needs_reauth when it stopped working.'),
  account_identity: z.string().nullable().describe('Who signed in, as the provider names them.'),
  scopes: z.array(z.string()),
  created_at: z.string(),
  updated_at: z.string(),
  last_refresh_at: z
    .string()
    .nullable()
    .describe('When its OAuth token was last obtained (sign-in or refresh).'),
  last_used_at: z
    .string()
    .nullable()
    .describe('When a call last used it (execute, the raw proxy, MCP); up to a few minutes late.'),
  last_checked_at: z.string().nullable().describe('When the health check last looked at it.'),
  last_error: z
    .object({
      code: z
        .string()
        .describe(
          'refresh_rejected, health_check_failed (an authentication refusal: sign in again); network, upstream_error, check_failed (nothing said about the credential); sign_in_failed; error (recorded before codes existed).',
        ),
      message: z.string(),
    })
    .nullable()
    .describe("Why it last failed, in connectr's words (never a secret); null once it works again."),
  tags: z
    .record(z.string(), z.string())
    .describe('Labels from the Connect session that made it (POST /connect/sessions); {} by default.'),
});

export type ConnectionJson = z.infer<typeof ConnectionShape>;

export function connectionJson(row: Connection): ConnectionJson {
  return {
    id: row.id,
    connector_type: row.connector,
    connector_version: row.connectorVersion,
    name: row.name,
    user_id: row.userId,
    status: row.status,
    account_identity: row.accountIdentity,
    scopes: [...row.scopes],
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    last_refresh_at: row.lastRefreshAt?.toISOString() ?? null,
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
    last_checked_at: row.lastCheckedAt?.toISOString() ?? null,
    last_error:
      row.lastError === null ? null : { code: row.lastErrorCode ?? 'error', message: row.lastError },
    tags: { ...row.tags },
  };
}

/** The `{id}` of the connection routes. */
export const ConnectionParams = z.object({ id: connectionId });
