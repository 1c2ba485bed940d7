import * as z from 'zod';
import { isConnectrError } from '../../../core/errors.js';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, FieldError } from '../../errors.js';
import { MAX_PAGE, listConnections } from '../../services/connections.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { ConnectorParams } from '../connectors/name.js';
import { ConnectionShape, connectionJson } from './shape.js';
import { label, pageLimit } from '../../input.js';

const ListQuery = z.strictObject({
  user_id: label('user_id', 255).optional().describe('Only this end user’s connections.'),
  // A connector's name as the connector routes check it: a NUL never reaches the database.
  connector_type: ConnectorParams.shape.name.optional().describe('Only connections of this connector.'),
  limit: pageLimit(MAX_PAGE, 50, 'connections'),
  cursor: z
    .string()
    .max(512, { message: 'cursor is not one this server gave out' })
    .optional()
    .describe('next_cursor of the previous page.'),
});

const ConnectionPage = z.object({
  connections: z.array(ConnectionShape),
  next_cursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page.'),
});

/** `GET /api/v1/connections`: the key's project's connections, oldest first, a page at a time. */
export function registerListConnections(app: App, context: RouteContext): void {
  app.get(
    '/api/v1/connections',
    {
      schema: {
        summary: 'List connections',
        tags: ['connections'],
        querystring: ListQuery,
        response: { 200: ConnectionPage, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const data = requireData(context);
      const query = request.query;
      try {
        const page = await listConnections(data, projectId, {
          userId: query.user_id,
          connector: query.connector_type,
          limit: query.limit,
          cursor: query.cursor,
        });
        return { connections: page.items.map(connectionJson), next_cursor: page.nextCursor ?? null };
      } catch (error) {
        // The store's only invalid_input besides the limit (checked above) is the cursor.
        if (isConnectrError(error) && error.code === 'invalid_input' && query.cursor !== undefined)
          throw new FieldError('query.cursor', error.message, { hint: error.hint });
        throw error;
      }
    },
  );
}
