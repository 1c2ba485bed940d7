import * as z from 'zod';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS } from '../../errors.js';
import { connectorToCreate, createConnection } from '../../services/connections.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { ConnectionShape, connectionJson } from './shape.js';
import { connectorVersion, label } from '../../input.js';

const CreateBody = z.strictObject({
  connector_type: z
    .string()
    .max(64, { message: 'a connector name has at most 64 characters' })
    .describe('The connector, e.g. gmail (GET /api/v1/connectors lists them).'),
  name: label('name', 200).describe('A label for people, e.g. "Work mailbox".'),
  user_id: label('user_id', 255)
    .nullable()
    .optional()
    .describe('Your end user this connection belongs to; filter on it in GET /connections.'),
  connector_version: connectorVersion
    .optional()
    .describe(
      "The connector's version its calls use (default: the newest); GET /api/v1/connectors/{name}/versions lists them.",
    ),
});

/** `POST /api/v1/connections`: a new connection, pending until it gets a credential. */
export function registerCreateConnection(app: App, context: RouteContext): void {
  app.post(
    '/api/v1/connections',
    {
      schema: {
        summary: 'Create a connection',
        description:
          'The connection starts "pending": store an API key or password with PUT /connections/{id}/credentials, or sign in with POST /oauth/authorize for OAuth connectors. An unknown connector_type, or a connector_version not loaded, is a 400 naming the field and what is known.',
        tags: ['connections'],
        body: CreateBody,
        response: { 201: ConnectionShape, ...COMMON_ERRORS },
      },
    },
    async (request, reply) => {
      const { projectId } = identityOf(request);
      const data = requireData(context);
      const body = request.body;
      const connector = connectorToCreate(
        await context.deps.registry(),
        body.connector_type,
        body.connector_version,
        { name: 'body.connector_type', version: 'body.connector_version' },
      );
      const row = await createConnection(data, {
        projectId,
        connector: connector.name,
        connectorVersion: connector.version,
        name: body.name,
        userId: body.user_id ?? null,
      });
      void reply.code(201).header('location', `/api/v1/connections/${row.id}`);
      return connectionJson(row);
    },
  );
}
