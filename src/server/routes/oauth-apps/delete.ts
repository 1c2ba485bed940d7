import * as z from 'zod';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { deleteOAuthApp } from '../../services/oauth-apps.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { OAuthAppParams } from './shape.js';

const Deleted = z.object({ connector: z.string(), deleted: z.literal(true) });

/**
 * `DELETE /api/v1/oauth-apps/{connector}`: forgets the project's OAuth app (and its sealed
 * secret). Sign-ins and refreshes then use the server's environment variables, if any.
 */
export function registerDeleteOAuthApp(app: App, context: RouteContext): void {
  app.delete(
    '/api/v1/oauth-apps/:connector',
    {
      schema: {
        summary: "Delete the project's OAuth app for a connector",
        description:
          "Sign-ins and refreshes of the connector then fall back to the server's environment (GMAIL_CLIENT_ID…). 404 when the project has no app for it.",
        tags: ['oauth-apps'],
        params: OAuthAppParams,
        response: { 200: Deleted, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const connector = request.params.connector;
      await deleteOAuthApp(requireData(context), projectId, connector);
      return { connector, deleted: true as const };
    },
  );
}
