import { and, eq, lte, or, sql } from 'drizzle-orm';
import type { KeyRing } from '../crypto.js';
import type { Db } from './db.js';
import { newId } from './ids.js';
import { providerSubscriptions } from './schema.js';

/** The subscriptions connectr made at providers for connections (Graph, Gmail's watch). */

const DAY_MS = 24 * 60 * 60_000;

export const clientStateContext = (subscriptionRowId: string): string =>
  `provider_subscriptions.client_state:${subscriptionRowId}`;

export interface NewSubscription {
  readonly projectId: string;
  readonly connectionId: string;
  readonly connector: string;
  readonly subscriptionId: string;
  readonly resource: string;
  readonly clientState?: string | undefined;
  readonly expiresAt: Date;
}

/** Records a subscription made at the provider, its client state sealed to its row. */
export async function putSubscription(
  db: Db,
  keys: KeyRing,
  input: NewSubscription,
  now = new Date(),
): Promise<string> {
  const id = newId('sub');
  await db.insert(providerSubscriptions).values({
    id,
    projectId: input.projectId,
    connectionId: input.connectionId,
    connector: input.connector,
    subscriptionId: input.subscriptionId,
    resource: input.resource,
    clientStateEncrypted:
      input.clientState === undefined ? null : keys.encrypt(input.clientState, clientStateContext(id)),
    expiresAt: input.expiresAt,
    createdAt: now,
    updatedAt: now,
  });
  return id;
}

export interface StoredSubscription {
  readonly id: string;
  readonly projectId: string;
  readonly connectionId: string;
  readonly connector: string;
  readonly subscriptionId: string;
  readonly resource: string;
  readonly expiresAt: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const publicColumns = {
  id: providerSubscriptions.id,
  projectId: providerSubscriptions.projectId,
  connectionId: providerSubscriptions.connectionId,
  connector: providerSubscriptions.connector,
  subscriptionId: providerSubscriptions.subscriptionId,
  resource: providerSubscriptions.resource,
  expiresAt: providerSubscriptions.expiresAt,
  createdAt: providerSubscriptions.createdAt,
  updatedAt: providerSubscriptions.updatedAt,
};

/** A connection's subscriptions, oldest first (no client state); with `id`, only that one. */
export function connectionSubscriptions(
  db: Db,
  projectId: string,
  connectionId: string,
  id?: string,
): Promise<StoredSubscription[]> {
  return db
    .select(publicColumns)
    .from(providerSubscriptions)
    .where(
      and(
        eq(providerSubscriptions.projectId, projectId),
        eq(providerSubscriptions.connectionId, connectionId),
        ...(id === undefined ? [] : [eq(providerSubscriptions.id, id)]),
      ),
    )
    .orderBy(providerSubscriptions.createdAt, providerSubscriptions.id);
}

export async function deleteSubscriptionRow(db: Db, id: string): Promise<void> {
  await db.delete(providerSubscriptions).where(eq(providerSubscriptions.id, id));
}

/** A subscription renewed (or made again) at the provider: its new id and expiry. */
export async function renewedSubscription(
  db: Db,
  id: string,
  change: { readonly subscriptionId?: string; readonly expiresAt: Date },
  now: Date,
): Promise<void> {
  await db
    .update(providerSubscriptions)
    .set({ ...change, updatedAt: now })
    .where(eq(providerSubscriptions.id, id));
}

/** A subscription to renew at the next round, whatever its expiry (a lifecycle notification asked). */
export async function renewSoon(db: Db, connector: string, subscriptionId: string): Promise<void> {
  await db
    .update(providerSubscriptions)
    .set({ updatedAt: new Date(0) })
    .where(
      and(
        eq(providerSubscriptions.connector, connector),
        eq(providerSubscriptions.subscriptionId, subscriptionId),
      ),
    );
}

/**
 * The subscriptions due for renewal at `now`: half their lifetime gone (from the last renewal to
 * the expiry), or renewed more than a day ago (Gmail asks for a daily watch); soonest first.
 */
export function subscriptionsDue(db: Db, now: Date, limit: number): Promise<StoredSubscription[]> {
  const { expiresAt, updatedAt } = providerSubscriptions;
  return db
    .select(publicColumns)
    .from(providerSubscriptions)
    .where(
      or(
        sql`${expiresAt} - (${expiresAt} - ${updatedAt}) / 2 <= ${now.toISOString()}::timestamptz`,
        lte(updatedAt, new Date(now.getTime() - DAY_MS)),
      ),
    )
    .orderBy(expiresAt, providerSubscriptions.id)
    .limit(limit);
}

/** The client state of a row, opened (Graph re-creation keeps it). */
export async function subscriptionClientState(
  db: Db,
  keys: KeyRing,
  id: string,
): Promise<string | undefined> {
  const rows = await db
    .select({ sealed: providerSubscriptions.clientStateEncrypted })
    .from(providerSubscriptions)
    .where(eq(providerSubscriptions.id, id));
  const sealed = rows[0]?.sealed;
  return sealed === null || sealed === undefined ? undefined : keys.decrypt(sealed, clientStateContext(id));
}
