import { and, eq } from 'drizzle-orm';
import type { KeyRing } from '../crypto.js';
import { requireConnection } from './connections.js';
import type { Db } from './db.js';
import { credentials } from './schema.js';

/**
 * A connection's secret (a token set, an API key, a password) as JSON sealed by the key ring,
 * bound to its connection: a ciphertext copied onto another connection does not decrypt.
 */

export const credentialContext = (connectionId: string): string => `credentials.secret:${connectionId}`;

export interface StoredCredential<T> {
  readonly secret: T;
  readonly expiresAt: Date | null;
  readonly updatedAt: Date;
}

export async function putCredential(
  db: Db,
  keys: KeyRing,
  input: { projectId: string; connectionId: string; secret: unknown; expiresAt?: Date | null | undefined },
  now = new Date(),
): Promise<void> {
  // Scoped: another project's connection is not found, and so gets no credential.
  await requireConnection(db, input.projectId, input.connectionId);
  const secretEncrypted = keys.encrypt(JSON.stringify(input.secret), credentialContext(input.connectionId));
  const expiresAt = input.expiresAt ?? null;
  await db
    .insert(credentials)
    .values({
      connectionId: input.connectionId,
      projectId: input.projectId,
      secretEncrypted,
      expiresAt,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoUpdate({
      target: credentials.connectionId,
      set: { secretEncrypted, expiresAt, updatedAt: now },
    });
}

export async function getCredential<T = unknown>(
  db: Db,
  keys: KeyRing,
  projectId: string,
  connectionId: string,
): Promise<StoredCredential<T> | undefined> {
  const [row] = await db
    .select()
    .from(credentials)
    .where(and(eq(credentials.projectId, projectId), eq(credentials.connectionId, connectionId)));
  if (!row) return undefined;
  const secret = JSON.parse(keys.decrypt(row.secretEncrypted, credentialContext(connectionId))) as T;
  return { secret, expiresAt: row.expiresAt, updatedAt: row.updatedAt };
}

export async function deleteCredential(db: Db, projectId: string, connectionId: string): Promise<boolean> {
  const rows = await db
    .delete(credentials)
    .where(and(eq(credentials.projectId, projectId), eq(credentials.connectionId, connectionId)))
    .returning({ id: credentials.connectionId });
  return rows.length > 0;
}
