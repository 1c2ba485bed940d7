import { ConnectrError } from '../../core/errors.js';
import type { ServerData } from '../contracts.js';
import * as apps from '../store/oauth-apps.js';
import type { OAuthAppSummary } from '../store/oauth-apps.js';
import { guard } from '../store/open.js';

/** A project's OAuth apps (the clients its users sign in with, and the server refreshes with): never a secret out. */

export type { OAuthAppSummary } from '../store/oauth-apps.js';

export function listOAuthApps(data: ServerData, projectId: string): Promise<OAuthAppSummary[]> {
  return guard(data.database, () => apps.listOAuthApps(data.db, projectId));
}

export interface OAuthAppInput {
  readonly connector: string;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly webhookSecret?: string | undefined;
}

/** Saves (or replaces) the project's app for a connector, the secret sealed; what may be shown of it. */
export async function saveOAuthApp(
  data: ServerData,
  projectId: string,
  input: OAuthAppInput,
): Promise<OAuthAppSummary> {
  const [saved] = await guard(data.database, async () => {
    await apps.putOAuthApp(data.db, data.keys, { projectId, ...input });
    return apps.listOAuthApps(data.db, projectId, input.connector);
  });
  if (saved) return saved;
  // Deleted between the two statements: what was saved.
  const now = new Date();
  return {
    connector: input.connector,
    clientId: input.clientId,
    hasClientSecret: input.clientSecret !== undefined,
    hasWebhookSecret: input.webhookSecret !== undefined,
    createdAt: now,
    updatedAt: now,
  };
}

/** Forgets the project's app for a connector; not_found when it has none. */
export async function deleteOAuthApp(data: ServerData, projectId: string, connector: string): Promise<void> {
  const deleted = await guard(data.database, () => apps.deleteOAuthApp(data.db, projectId, connector));
  if (!deleted) {
    throw new ConnectrError('not_found', `this project has no OAuth app for ${connector}`, {
      hint: 'GET /api/v1/oauth-apps lists the saved ones',
    });
  }
}
