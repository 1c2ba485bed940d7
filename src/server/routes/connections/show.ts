import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { requireConnection } from '../../services/connections.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { ConnectionParams, ConnectionShape, connectionJson } from './shape.js';

/** `GET /api/v1/connections/{id}`: one connection of the key's project; any other id is a 404. */
export function registerShowConnection(app: App, context: RouteContext): void {
  app.get(
    '/api/v1/connections/:id',
    {
      schema: {
        summary: 'Get a connection',
        description: "Another project's connection is a 404, as an unknown id is.",
        tags: ['connections'],
        params: ConnectionParams,
        response: { 200: ConnectionShape, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const data = requireData(context);
      return connectionJson(await requireConnection(data, projectId, request.params.id));
    },
  );
}
