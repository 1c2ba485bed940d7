import { and, eq } from 'drizzle-orm';
import type { KeyRing } from '../crypto.js';
import type { StoredCredential } from './credentials.js';
import { credentialContext } from './credentials.js';
import type { Db } from './db.js';
import { connections, credentials } from './schema.js';

/**
 * A connection's credential row held locked (SELECT … FOR UPDATE) for a refresh: every server
 * instance sharing the database waits for the holder, then reads what it wrote. The lock is held
 * until `work` ends and its transaction commits; writes that must land with it take `tx`.
 */
export interface LockedCredential {
  /** The transaction holding the lock. */
  readonly tx: Db;
  /** The row as stored once locked; undefined when there is none (the credential was removed). */
  readonly stored: StoredCredential<unknown> | undefined;
  /**
   * When a grant (sign-in, push or refresh) gave the stored secret: the connection's
   * last_refresh_at, stamped in the transaction that sealed it (oauth/tokens.ts); undefined when
   * the row was replaced since, or never stamped.
   */
  readonly obtainedAt: Date | undefined;
}

export function withCredentialLocked<T>(
  db: Db,
  keys: KeyRing,
  connection: { readonly projectId: string; readonly id: string },
  work: (locked: LockedCredential) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(credentials)
      .where(
        and(eq(credentials.projectId, connection.projectId), eq(credentials.connectionId, connection.id)),
      )
      .for('update');
    if (!row) return work({ tx, stored: undefined, obtainedAt: undefined });
    const [current] = await tx
      .select({ obtainedAt: connections.lastRefreshAt })
      .from(connections)
      .where(and(eq(connections.projectId, connection.projectId), eq(connections.id, connection.id)));
    const stamped = current?.obtainedAt ?? undefined;
    return work({
      tx,
      stored: {
        secret: JSON.parse(keys.decrypt(row.secretEncrypted, credentialContext(connection.id))) as unknown,
        expiresAt: row.expiresAt,
        updatedAt: row.updatedAt,
      },
      obtainedAt: stamped && row.updatedAt.getTime() <= stamped.getTime() ? stamped : undefined,
    });
  });
}
