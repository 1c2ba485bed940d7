import * as z from 'zod';
import type { OAuthAppSummary } from '../../services/oauth-apps.js';

/**
 * The public JSON of a project's OAuth app (the client a connector's users sign in with, and
 * the server refreshes with): never the client secret, only whether one is saved.
 */
export const OAuthAppShape = z.object({
  connector: z.string().describe('The connector, as in GET /api/v1/connectors.'),
  client_id: z.string(),
  has_client_secret: z.boolean().describe('Whether a client secret is saved (it is never shown).'),
  has_webhook_secret: z
    .boolean()
    .describe(
      'Whether a webhook secret (what the provider signs its pushes with) is saved (it is never shown).',
    ),
  created_at: z.string(),
  updated_at: z.string(),
});

export type OAuthAppJson = z.infer<typeof OAuthAppShape>;

export function oauthAppJson(app: OAuthAppSummary): OAuthAppJson {
  return {
    connector: app.connector,
    client_id: app.clientId,
    has_client_secret: app.hasClientSecret,
    has_webhook_secret: app.hasWebhookSecret,
    created_at: app.createdAt.toISOString(),
    updated_at: app.updatedAt.toISOString(),
  };
}

/** The `{connector}` of the OAuth-app routes: the format connector names have, bounded. */
export const OAuthAppParams = z.object({
  connector: z
    .string()
    .max(64, { message: 'a connector name has at most 64 characters' })
    .regex(/^[a-z][a-z0-9_-]*$/, {
      message: 'expected a connector name: lowercase letters, digits, "-" and "_", starting with a letter',
    })
    .describe('The connector, e.g. gmail.'),
});
