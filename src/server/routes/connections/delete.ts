import * as z from 'zod';
import { isConnectrError } from '../../../core/errors.js';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { deleteConnection, requireConnection } from '../../store/connections.js';
import { deleteCredential, getCredential } from '../../store/credentials.js';
import { changeConnection } from '../../credentials/target.js';
import { guard } from '../../store/open.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { revokeAtProvider } from './revoke.js';
import type { RevocationOutcome } from './revoke.js';
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
      const data = requireData(context);
      const id = request.params.id;
      const connection = await guard(data.database, () => requireConnection(data.db, projectId, id));
      let unreadable: string | undefined;
      const stored = await guard(data.database, () => getCredential(data.db, data.keys, projectId, id)).catch(
        (error: unknown) => {
          // A credential failing its integrity check cannot be revoked, and must not make the
          // connection undeletable. A key missing from the ring ('unavailable') stays an error:
          // configuring the key makes revocation possible again.
          if (!(isConnectrError(error) && error.code === 'internal')) throw error;
          unreadable = `the stored credential could not be read, so it was not revoked: ${error.message}`;
          return undefined;
        },
      );
      const outcome: RevocationOutcome = unreadable
        ? { revoked: false, error: unreadable }
        : stored
          ? await revokeAtProvider(
              data,
              context.deps.env ?? {},
              projectId,
              (await context.deps.registry()).get(connection.connector),
              stored.secret,
              request,
            )
          : { revoked: false };
      const deleted = await changeConnection(data, projectId, id, () =>
        guard(data.database, () =>
          data.db.transaction(async (tx) => {
            await deleteCredential(tx, projectId, id);
            return deleteConnection(tx, projectId, id);
          }),
        ),
      );
      // Deleted by another request meanwhile: this one deleted nothing.
      if (!deleted) await requireConnection(data.db, projectId, id);
      return {
        deleted: true as const,
        revoked: outcome.revoked,
        ...(outcome.error === undefined ? {} : { revoke_error: outcome.error }),
      };
    },
  );
}
