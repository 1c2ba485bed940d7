import { eq, isNotNull } from 'drizzle-orm';
import type { KeyRing } from '../crypto.js';
import { credentialContext } from './credentials.js';
import type { Db } from './db.js';
import { verifierContext } from './oauth-sessions.js';
import { clientSecretContext, providerSecretContext } from './oauth-apps.js';
import { clientStateContext } from './provider-subscriptions.js';
import { credentials, oauthApps, oauthSessions, providerSubscriptions, webhookEndpoints } from './schema.js';
import { webhookSecretContext } from './webhooks.js';

/**
 * Re-encrypts every sealed column with the ring's current key, in one transaction (all or
 * nothing), rows locked while it works. Values already under the current key are left alone,
 * so running it again changes nothing. Any value that does not decrypt stops it, unchanged.
 */

/** Per table: values re-encrypted, and values already under the current key. */
export type RotationCounts = Readonly<
  Record<string, { readonly rewritten: number; readonly current: number }>
>;

interface Column {
  readonly table: string;
  rows(tx: Db): Promise<{ key: string; sealed: string }[]>;
  write(tx: Db, key: string, sealed: string): Promise<void>;
  context(key: string): string;
}

const COLUMNS: readonly Column[] = [
  {
    table: 'oauth_apps',
    context: clientSecretContext,
    rows: async (tx) =>
      (
        await tx
          .select({ key: oauthApps.id, sealed: oauthApps.clientSecretEncrypted })
          .from(oauthApps)
          .where(isNotNull(oauthApps.clientSecretEncrypted))
          .for('update')
      ).flatMap((r) => (r.sealed === null ? [] : [{ key: r.key, sealed: r.sealed }])),
    write: async (tx, key, sealed) => {
      await tx.update(oauthApps).set({ clientSecretEncrypted: sealed }).where(eq(oauthApps.id, key));
    },
  },
  {
    table: 'oauth_apps',
    context: providerSecretContext,
    rows: async (tx) =>
      (
        await tx
          .select({ key: oauthApps.id, sealed: oauthApps.webhookSecretEncrypted })
          .from(oauthApps)
          .where(isNotNull(oauthApps.webhookSecretEncrypted))
          .for('update')
      ).flatMap((r) => (r.sealed === null ? [] : [{ key: r.key, sealed: r.sealed }])),
    write: async (tx, key, sealed) => {
      await tx.update(oauthApps).set({ webhookSecretEncrypted: sealed }).where(eq(oauthApps.id, key));
    },
  },
  {
    table: 'provider_subscriptions',
    context: clientStateContext,
    rows: async (tx) =>
      (
        await tx
          .select({ key: providerSubscriptions.id, sealed: providerSubscriptions.clientStateEncrypted })
          .from(providerSubscriptions)
          .where(isNotNull(providerSubscriptions.clientStateEncrypted))
          .for('update')
      ).flatMap((r) => (r.sealed === null ? [] : [{ key: r.key, sealed: r.sealed }])),
    write: async (tx, key, sealed) => {
      await tx
        .update(providerSubscriptions)
        .set({ clientStateEncrypted: sealed })
        .where(eq(providerSubscriptions.id, key));
    },
  },
  {
    table: 'credentials',
    context: credentialContext,
    rows: (tx) =>
      tx
        .select({ key: credentials.connectionId, sealed: credentials.secretEncrypted })
        .from(credentials)
        .for('update'),
    write: async (tx, key, sealed) => {
      await tx.update(credentials).set({ secretEncrypted: sealed }).where(eq(credentials.connectionId, key));
    },
  },
  {
    table: 'oauth_sessions',
    context: verifierContext,
    rows: (tx) =>
      tx
        .select({ key: oauthSessions.id, sealed: oauthSessions.pkceVerifierEncrypted })
        .from(oauthSessions)
        .for('update'),
    write: async (tx, key, sealed) => {
      await tx.update(oauthSessions).set({ pkceVerifierEncrypted: sealed }).where(eq(oauthSessions.id, key));
    },
  },
  {
    // Both of an endpoint's secrets: the row key carries which one (`<id>:current|previous`).
    table: 'webhook_endpoints',
    context: (key) => webhookSecretContext(key.slice(0, key.lastIndexOf(':'))),
    rows: async (tx) =>
      (
        await tx
          .select({
            id: webhookEndpoints.id,
            current: webhookEndpoints.secretEncrypted,
            previous: webhookEndpoints.previousSecretEncrypted,
          })
          .from(webhookEndpoints)
          .for('update')
      ).flatMap((r) => [
        { key: `${r.id}:current`, sealed: r.current },
        ...(r.previous === null ? [] : [{ key: `${r.id}:previous`, sealed: r.previous }]),
      ]),
    write: async (tx, key, sealed) => {
      const id = key.slice(0, key.lastIndexOf(':'));
      await tx
        .update(webhookEndpoints)
        .set(key.endsWith(':previous') ? { previousSecretEncrypted: sealed } : { secretEncrypted: sealed })
        .where(eq(webhookEndpoints.id, id));
    },
  },
];

export async function rotateEncryption(db: Db, keys: KeyRing): Promise<RotationCounts> {
  return db.transaction(async (tx) => {
    const counts: Record<string, { rewritten: number; current: number }> = {};
    for (const column of COLUMNS) {
      // A table with two sealed columns (oauth_apps) counts both.
      const count = counts[column.table] ?? { rewritten: 0, current: 0 };
      for (const row of await column.rows(tx)) {
        const context = column.context(row.key);
        if (keys.isCurrent(row.sealed, context)) {
          // Checked, not trusted: a damaged value under the current key must fail here too.
          keys.decrypt(row.sealed, context);
          count.current++;
          continue;
        }
        await column.write(tx, row.key, keys.encrypt(keys.decrypt(row.sealed, context), context));
        count.rewritten++;
      }
      counts[column.table] = count;
    }
    return counts;
  });
}
