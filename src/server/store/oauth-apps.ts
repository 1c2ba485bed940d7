import { and, asc, eq, isNotNull, sql } from 'drizzle-orm';
import type { KeyRing } from '../crypto.js';
import type { Db } from './db.js';
import { newId } from './ids.js';
import { oauthApps } from './schema.js';

/** A project's OAuth client for a connector; the secret sealed by the key ring, bound to its row. */

export const clientSecretContext = (appId: string): string => `oauth_apps.client_secret:${appId}`;
export const providerSecretContext = (appId: string): string => `oauth_apps.webhook_secret:${appId}`;

/** What is saved: a secret left out (undefined) is removed. */
export interface OAuthAppRow {
  readonly projectId: string;
  readonly connector: string;
  readonly clientId: string;
  readonly clientSecret?: string | undefined;
  readonly webhookSecret?: string | undefined;
}

export interface OAuthApp {
  readonly connector: string;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
}

export async function putOAuthApp(
  db: Db,
  keys: KeyRing,
  input: OAuthAppRow,
  now = new Date(),
): Promise<void> {
  // Two first saves of one app at once: the insert of the slower finds the row and it retries
  // as an update (the row's id is part of the encryption context, so it is chosen first).
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await saveOnce(db, keys, input, now)) return;
  }
  throw new Error(`could not save the OAuth app of ${input.connector}`);
}

async function saveOnce(db: Db, keys: KeyRing, input: OAuthAppRow, now: Date): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [existing] = await tx
      .select({ id: oauthApps.id })
      .from(oauthApps)
      .where(and(eq(oauthApps.projectId, input.projectId), eq(oauthApps.connector, input.connector)))
      .for('update');
    const id = existing?.id ?? newId('app');
    const clientSecretEncrypted =
      input.clientSecret === undefined ? null : keys.encrypt(input.clientSecret, clientSecretContext(id));
    const webhookSecretEncrypted =
      input.webhookSecret === undefined ? null : keys.encrypt(input.webhookSecret, providerSecretContext(id));
    if (existing) {
      await tx
        .update(oauthApps)
        .set({ clientId: input.clientId, clientSecretEncrypted, webhookSecretEncrypted, updatedAt: now })
        .where(eq(oauthApps.id, id));
      return true;
    }
    const inserted = await tx
      .insert(oauthApps)
      .values({
        id,
        projectId: input.projectId,
        connector: input.connector,
        clientId: input.clientId,
        clientSecretEncrypted,
        webhookSecretEncrypted,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing({ target: [oauthApps.projectId, oauthApps.connector] })
      .returning({ id: oauthApps.id });
    return inserted.length > 0;
  });
}

export async function getOAuthApp(
  db: Db,
  keys: KeyRing,
  projectId: string,
  connector: string,
): Promise<OAuthApp | undefined> {
  const [row] = await db
    .select()
    .from(oauthApps)
    .where(and(eq(oauthApps.projectId, projectId), eq(oauthApps.connector, connector)));
  if (!row) return undefined;
  return {
    connector: row.connector,
    clientId: row.clientId,
    clientSecret:
      row.clientSecretEncrypted === null
        ? undefined
        : keys.decrypt(row.clientSecretEncrypted, clientSecretContext(row.id)),
  };
}

/** What may be shown of a saved OAuth app: never its secret. */
export interface OAuthAppSummary {
  readonly connector: string;
  readonly clientId: string;
  readonly hasClientSecret: boolean;
  readonly hasWebhookSecret: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** The project's saved OAuth apps (only `connector`'s when given), by connector name. */
export async function listOAuthApps(
  db: Db,
  projectId: string,
  connector?: string,
): Promise<OAuthAppSummary[]> {
  const rows = await db
    .select({
      connector: oauthApps.connector,
      clientId: oauthApps.clientId,
      hasClientSecret: sql<boolean>`${oauthApps.clientSecretEncrypted} is not null`,
      hasWebhookSecret: sql<boolean>`${oauthApps.webhookSecretEncrypted} is not null`,
      createdAt: oauthApps.createdAt,
      updatedAt: oauthApps.updatedAt,
    })
    .from(oauthApps)
    .where(
      connector === undefined
        ? eq(oauthApps.projectId, projectId)
        : and(eq(oauthApps.projectId, projectId), eq(oauthApps.connector, connector)),
    )
    .orderBy(asc(oauthApps.connector));
  return rows;
}

/** True when the project had an app for the connector. */
export async function deleteOAuthApp(db: Db, projectId: string, connector: string): Promise<boolean> {
  const rows = await db
    .delete(oauthApps)
    .where(and(eq(oauthApps.projectId, projectId), eq(oauthApps.connector, connector)))
    .returning({ id: oauthApps.id });
  return rows.length > 0;
}

/**
 * The webhook secrets set for a connector: of one project, or of every project (a push to the
 * connector's URL without a project is tried against each). Opened only to verify a push.
 */
export async function webhookSecrets(
  db: Db,
  keys: KeyRing,
  connector: string,
  projectId?: string,
): Promise<{ owner: string; secret: string }[]> {
  const rows = await db
    .select({ id: oauthApps.id, projectId: oauthApps.projectId, sealed: oauthApps.webhookSecretEncrypted })
    .from(oauthApps)
    .where(
      and(
        eq(oauthApps.connector, connector),
        isNotNull(oauthApps.webhookSecretEncrypted),
        ...(projectId === undefined ? [] : [eq(oauthApps.projectId, projectId)]),
      ),
    )
    .orderBy(asc(oauthApps.projectId));
  return rows.flatMap((row) =>
    row.sealed === null
      ? []
      : [{ owner: row.projectId, secret: keys.decrypt(row.sealed, providerSecretContext(row.id)) }],
  );
}
