import * as z from 'zod';
import { ConnectrError } from '../../../core/errors.js';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema, HttpError } from '../../errors.js';
import { requireConnection } from '../../store/connections.js';
import { getCredential } from '../../store/credentials.js';
import { guard } from '../../store/open.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { routeCredentials } from '../../credentials/source.js';
import { ConnectionParams, storedTokens } from './shape.js';

const TokenAnswer = z.object({
  access_token: z.string(),
  token_type: z.string(),
  expires_at: z.string().nullable().describe('When the token expires; null when the provider did not say.'),
});

/**
 * `GET /api/v1/connections/{id}/token`: an OAuth connection's access token, for callers that
 * call the provider themselves. Only keys created with `--allow-token` may. A token about to
 * expire (or expired) is refreshed first.
 */
export function registerGetToken(app: App, context: RouteContext): void {
  app.get(
    '/api/v1/connections/:id/token',
    {
      schema: {
        summary: "Get an OAuth connection's access token",
        description:
          'Needs an API key created with `connectr serve keys create --allow-token` (else 403). 409 when the connection is not an OAuth one (conflict) or has no usable token (needs_reauth). A token about to expire is refreshed first.',
        tags: ['connections'],
        params: ConnectionParams,
        response: {
          200: TokenAnswer,
          403: ErrorEnvelopeSchema,
          404: ErrorEnvelopeSchema,
          409: ErrorEnvelopeSchema,
          ...COMMON_ERRORS,
        },
      },
    },
    async (request, reply) => {
      const identity = identityOf(request);
      if (!identity.allowToken) {
        throw new HttpError(
          403,
          'forbidden',
          'this API key may not read access tokens',
          'create a key that may: `connectr serve keys create --name <name> --allow-token`',
        );
      }
      const data = requireData(context);
      const id = request.params.id;
      const connection = await guard(data.database, () => requireConnection(data.db, identity.projectId, id));
      const connector = (await context.deps.registry()).get(connection.connector);
      if (connector?.auth.type !== 'oauth2') {
        throw new HttpError(
          409,
          'conflict',
          `connection ${id} is not an OAuth connection: it has no access token`,
          'POST /api/v1/proxy/execute calls its API with the stored credential',
        );
      }
      // A token about to expire is refreshed first (under the row lock, as execute does).
      await routeCredentials(context, connection, connector).credential();
      const stored = await guard(data.database, () =>
        getCredential(data.db, data.keys, identity.projectId, id),
      );
      const tokens = storedTokens(stored?.secret);
      if (!stored || tokens.accessToken === undefined) {
        throw new ConnectrError('needs_reauth', `connection ${id} has no access token yet`, {
          hint: 'sign the user in with POST /api/v1/oauth/authorize',
        });
      }
      void reply.header('cache-control', 'no-store');
      return {
        access_token: tokens.accessToken,
        token_type: tokens.tokenType ?? 'Bearer',
        expires_at: stored.expiresAt?.toISOString() ?? null,
      };
    },
  );
}
