import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import type { App, RouteContext } from '../../types.js';
import { ConnectorParams, requireConnector } from './name.js';
import { ConnectorShape, connectorJson } from './shape.js';

/** `GET /api/v1/connectors/{name}`: one connector with its auth, hosts and endpoints. */
export function registerShowConnector(app: App, { deps }: RouteContext): void {
  app.get(
    '/api/v1/connectors/:name',
    {
      schema: {
        summary: 'Get a connector',
        tags: ['connectors'],
        params: ConnectorParams,
        response: { 200: ConnectorShape, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => connectorJson(requireConnector(await deps.registry(), request.params.name)),
  );
}
