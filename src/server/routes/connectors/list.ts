import * as z from 'zod';
import { COMMON_ERRORS } from '../../errors.js';
import type { App, RouteContext } from '../../types.js';
import { ConnectorSummaryShape, connectorSummaryJson } from './shape.js';

const ConnectorList = z.object({ connectors: z.array(ConnectorSummaryShape) });

/** `GET /api/v1/connectors`: every connector the server can reach, by name. */
export function registerListConnectors(app: App, { deps }: RouteContext): void {
  app.get(
    '/api/v1/connectors',
    {
      schema: {
        summary: 'List connectors',
        tags: ['connectors'],
        response: { 200: ConnectorList, ...COMMON_ERRORS },
      },
    },
    async () => {
      const registry = await deps.registry();
      return { connectors: registry.connectors.map(connectorSummaryJson) };
    },
  );
}
