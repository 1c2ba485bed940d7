import * as z from 'zod';
import { ConnectrError } from '../../../core/errors.js';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { accessToken } from '../../services/connections.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { routeCredentials } from '../../credentials/source.js';
import { ConnectionParams } from './shape.js';

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
        throw new ConnectrError('forbidden', 'this API key may not read access tokens', {
          hint: 'create a key that may: `connectr serve keys create --name <name> --allow-token`',
        });
      }
      // A token about to expire is refreshed first (under the row lock, as execute does).
      const token = await accessToken(
        requireData(context),
        await context.deps.registry(),
        identity.projectId,
        request.params.id,
        (connection, connector) => routeCredentials(context, connection, connector),
      );
      void reply.header('cache-control', 'no-store');
      return {
        access_token: token.accessToken,
        token_type: token.tokenType,
        expires_at: token.expiresAt?.toISOString() ?? null,
      };
    },
  );
}
