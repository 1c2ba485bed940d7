import { createConnection, lockConnection } from '../store/connections.js';
import type { Connection, NewConnection } from '../store/connections.js';
import type { Db } from '../store/db.js';
import { recordConnectionEvent } from './events.js';

/**
 * The changes to a connection that carry a webhook event, each in one transaction with its
 * event (webhooks/events.ts): the services and the OAuth flow make them through here.
 */

/** A new connection and its connection.created event, in `db`'s transaction (or a new one). */
export function createConnectionWithEvent(db: Db, input: NewConnection, now: Date): Promise<Connection> {
  return db.transaction(async (tx) => {
    const row = await createConnection(tx, input, now);
    await recordConnectionEvent(tx, { type: 'connection.created', connection: row }, now);
    return row;
  });
}

/**
 * A sign-in (OAuth completed, or a credential stored) with its events, in the caller's
 * transaction: the connection's row is locked first, so its status before the change is the
 * one the change replaced; then connection.signed_in, and connection.restored when the sign-in
 * mended a connection that needed one. `change` returns the connection after it, or undefined
 * when it was deleted meanwhile (no event then).
 */
export async function signIn(
  tx: Db,
  connection: Pick<Connection, 'projectId' | 'id'>,
  now: Date,
  change: () => Promise<Connection | undefined>,
): Promise<Connection | undefined> {
  const before = await lockConnection(tx, connection.projectId, connection.id);
  const after = await change();
  if (after === undefined) return undefined;
  await recordConnectionEvent(tx, { type: 'connection.signed_in', connection: after }, now);
  if (before?.status === 'needs_reauth')
    await recordConnectionEvent(tx, { type: 'connection.restored', connection: after }, now);
  return after;
}
