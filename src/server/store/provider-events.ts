import { and, eq, inArray, ne, or } from 'drizzle-orm';
import type { KeyRing } from '../crypto.js';
import type { Db } from './db.js';
import { clientStateContext } from './provider-subscriptions.js';
import { connections, providerSubscriptions } from './schema.js';

/** What attributes a provider's push to connections: their account keys, or the subscription they made. */

export interface AttributedConnection {
  readonly projectId: string;
  readonly connectionId: string;
}

/** At most this many connections get one event (a workspace-wide Slack event, say). */
export const MAX_ATTRIBUTED = 1000;

/**
 * The connections of `connector` (of one project, or of any) whose account identity or
 * provider account id is one of `keys`; revoked connections are left out.
 */
export async function connectionsByAccount(
  db: Db,
  connector: string,
  keys: readonly string[],
  projectId: string | undefined,
): Promise<AttributedConnection[]> {
  if (keys.length === 0) return [];
  return db
    .select({ projectId: connections.projectId, connectionId: connections.id })
    .from(connections)
    .where(
      and(
        eq(connections.connector, connector),
        ne(connections.status, 'revoked'),
        or(
          inArray(connections.accountIdentity, [...keys]),
          inArray(connections.providerAccountId, [...keys]),
        ),
        ...(projectId === undefined ? [] : [eq(connections.projectId, projectId)]),
      ),
    )
    .orderBy(connections.createdAt, connections.id)
    .limit(MAX_ATTRIBUTED);
}

export interface SubscriptionRow extends AttributedConnection {
  readonly subscriptionId: string;
  readonly clientState: string | undefined;
}

/** The subscriptions of `connector` with these provider ids, their client state opened. */
export async function subscriptionsById(
  db: Db,
  keys: KeyRing,
  connector: string,
  ids: readonly string[],
): Promise<SubscriptionRow[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .select()
    .from(providerSubscriptions)
    .where(
      and(
        eq(providerSubscriptions.connector, connector),
        inArray(providerSubscriptions.subscriptionId, [...ids]),
      ),
    );
  return rows.map((row) => ({
    projectId: row.projectId,
    connectionId: row.connectionId,
    subscriptionId: row.subscriptionId,
    clientState:
      row.clientStateEncrypted === null
        ? undefined
        : keys.decrypt(row.clientStateEncrypted, clientStateContext(row.id)),
  }));
}
