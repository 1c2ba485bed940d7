import * as z from 'zod';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { deleteConnection } from '../../services/connections.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { ConnectionParams } from './shape.js';

const Deleted = z.object({
  deleted: z.literal(true),
  revoked: z
    .boolean()
    .describe('True when the provider confirmed revoking the grant; false when it was not tried or failed.'),
  revoke_error: z
    .string()
    .optional()
    .describe('Why the revocation failed; the connection is deleted all the same.'),
});

/**
 * `DELETE /api/v1/connections/{id}`: revokes the grant at the provider where it can, then
 * deletes the connection and its credential. A failed revocation does not keep the connection:
 * the answer (200, not 204, so that it can say so) carries `revoked: false` and `revoke_error`.
 */
export function registerDeleteConnection(app: App, context: RouteContext): void {
  app.delete(
    '/api/v1/connections/:id',
    {
      schema: {
        summary: 'Delete a connection',
        description:
          'Revokes the OAuth grant at the provider when the connector declares a revocation URL, then deletes the connection and its credential, even when the revocation failed (revoked: false, revoke_error says why).',
        tags: ['connections'],
        params: ConnectionParams,
        response: { 200: Deleted, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const outcome = await deleteConnection(
        {
          data: requireData(context),
          registry: await context.deps.registry(),
          env: context.deps.env ?? {},
          request,
        },
        projectId,
        request.params.id,
      );
      return {
        deleted: true as const,
        revoked: outcome.revoked,
        ...(outcome.error === undefined ? {} : { revoke_error: outcome.error }),
      };
    },
  );
}
