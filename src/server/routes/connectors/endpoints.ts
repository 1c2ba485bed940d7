import * as z from 'zod';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import type { App, RouteContext } from '../../types.js';
import { ConnectorParams, requireConnector } from './name.js';
import { EndpointShape, endpointJson } from './shape.js';

const EndpointList = z.object({ connector: z.string(), endpoints: z.array(EndpointShape) });

/** `GET /api/v1/connectors/{name}/endpoints`: what `POST /proxy/execute` can call on it. */
export function registerListEndpoints(app: App, { deps }: RouteContext): void {
  app.get(
    '/api/v1/connectors/:name/endpoints',
    {
      schema: {
        summary: "List a connector's endpoints and their parameters",
        tags: ['connectors'],
        params: ConnectorParams,
        response: { 200: EndpointList, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const connector = requireConnector(await deps.registry(), request.params.name);
      return { connector: connector.name, endpoints: connector.endpoints.map(endpointJson) };
    },
  );
}
