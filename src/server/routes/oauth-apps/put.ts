import * as z from 'zod';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema, FieldError } from '../../errors.js';
import { saveOAuthApp } from '../../services/oauth-apps.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { secretValue } from '../connections/credentials.js';
import { label } from '../../input.js';
import { requireConnector } from '../connectors/name.js';
import { OAuthAppParams, OAuthAppShape, oauthAppJson } from './shape.js';

const PutBody = z.strictObject({
  client_id: label('client_id', 1024).describe('The OAuth client id registered with the provider.'),
  client_secret: secretValue('client_secret')
    .optional()
    .describe(
      "Required when the connector's apps have a secret, refused when they have none (public clients). Never shown again.",
    ),
  webhook_secret: secretValue('webhook_secret')
    .optional()
    .describe(
      'What the provider signs its pushes to /webhooks/providers/{connector} with (Dropbox app secret, Slack signing secret, GitHub webhook secret, the token of a Gmail push URL); only for a connector with webhooks. Never shown again.',
    ),
});

/**
 * `PUT /api/v1/oauth-apps/{connector}`: saves (or replaces) the project's OAuth app for a
 * connector, the secret sealed by the key ring. The browser sign-in and the server's refreshes
 * use it before the server's environment variables. Answers without the secret.
 */
export function registerPutOAuthApp(app: App, context: RouteContext): void {
  app.put(
    '/api/v1/oauth-apps/:connector',
    {
      schema: {
        summary: "Save the project's OAuth app for a connector",
        description:
          'Body {"client_id", "client_secret"?, "webhook_secret"?}. Replaces the saved app: a secret left out is removed. 404 for an unknown connector (with the nearest name), 400 for one that does not use OAuth, or a secret missing (client_secret: required) or out of place (none).',
        tags: ['oauth-apps'],
        params: OAuthAppParams,
        body: PutBody,
        response: { 200: OAuthAppShape, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const data = requireData(context);
      const connector = requireConnector(await context.deps.registry(), request.params.connector);
      const auth = connector.auth;
      if (auth.type !== 'oauth2') {
        throw new FieldError(
          'params.connector',
          `${connector.name} does not use OAuth (its auth is ${auth.type}): it has no OAuth app`,
          { hint: "store the connection's credential with PUT /api/v1/connections/{id}/credentials" },
        );
      }
      const {
        client_id: clientId,
        client_secret: clientSecret,
        webhook_secret: webhookSecret,
      } = request.body;
      if (webhookSecret !== undefined && connector.webhooks === undefined) {
        throw new FieldError(
          'body.webhook_secret',
          `${connector.name} declares no webhooks: it has no webhook secret`,
          { hint: 'docs/webhooks.md lists the connectors whose pushes connectr receives' },
        );
      }
      if (auth.client_secret === 'required' && clientSecret === undefined) {
        throw new FieldError(
          'body.client_secret',
          `client_secret is required: ${connector.name} apps have one`,
        );
      }
      if (auth.client_secret === 'none' && clientSecret !== undefined) {
        throw new FieldError(
          'body.client_secret',
          `${connector.name} apps have no client secret (public clients): leave client_secret out`,
        );
      }
      const saved = await saveOAuthApp(data, projectId, {
        connector: connector.name,
        clientId,
        clientSecret,
        webhookSecret,
      });
      return oauthAppJson(saved);
    },
  );
}
