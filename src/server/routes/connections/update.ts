import * as z from 'zod';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { connectorVersion } from '../../input.js';
import { moveConnection } from '../../services/connections.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { ConnectionParams, ConnectionShape, connectionJson } from './shape.js';

const UpdateBody = z.strictObject({
  connector_version: connectorVersion.describe(
    "The connector's version the connection's calls use from now on (GET /api/v1/connectors/{name}/versions).",
  ),
});

/** `PATCH /api/v1/connections/{id}`: moves a connection to another version of its connector. */
export function registerUpdateConnection(app: App, context: RouteContext): void {
  app.patch(
    '/api/v1/connections/:id',
    {
      schema: {
        summary: 'Move a connection to another connector version',
        description:
          'A version this server does not load is a 400 listing the loaded ones. A version that asks for OAuth scopes the connection was not granted is a 409 naming them: sign the connection in again, then PATCH again.',
        tags: ['connections'],
        params: ConnectionParams,
        body: UpdateBody,
        response: {
          200: ConnectionShape,
          404: ErrorEnvelopeSchema,
          409: ErrorEnvelopeSchema,
          ...COMMON_ERRORS,
        },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const data = requireData(context);
      const moved = await moveConnection(
        data,
        await context.deps.registry(),
        projectId,
        request.params.id,
        request.body.connector_version,
      );
      return connectionJson(moved);
    },
  );
}
