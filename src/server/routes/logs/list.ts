import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { identityOf } from '../../plugins/auth.js';
import { listCallLogs, listConnectionCallLogs } from '../../services/call-logs.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { ConnectionParams } from '../connections/shape.js';
import { LogPageShape, LogQuery, logQuery, namingCursor, pageJson } from './shape.js';

const DESCRIPTION =
  'Every execute, raw-proxy and MCP call of the project, one entry per call: newest first, a page at a time (next_cursor goes back; follow_cursor gives the calls written since, oldest first). Calls are written in batches, so the newest may take up to CONNECTR_CALL_LOG_FLUSH_MS (1 s) to show. No entry holds a token, a key or a body. See docs/server.md "Call log".';

/**
 * `GET /api/v1/logs` and `GET /api/v1/connections/{id}/logs`: the key's project's call log.
 * A connection of another project is a 404 on the connection's route and matches nothing as a
 * filter (rows are read for the key's project only).
 */
export function registerListLogs(app: App, context: RouteContext): void {
  app.get(
    '/api/v1/logs',
    {
      schema: {
        summary: "List the project's calls",
        description: DESCRIPTION,
        tags: ['logs'],
        querystring: LogQuery,
        response: { 200: LogPageShape, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const data = requireData(context);
      const query = request.query;
      return pageJson(await namingCursor(query.cursor, () => listCallLogs(data, projectId, logQuery(query))));
    },
  );
  app.get(
    '/api/v1/connections/:id/logs',
    {
      schema: {
        summary: "List a connection's calls",
        description: `${DESCRIPTION} Another project's connection is a 404, as an unknown id is.`,
        tags: ['logs'],
        params: ConnectionParams,
        querystring: LogQuery.omit({ connection_id: true }),
        response: { 200: LogPageShape, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const data = requireData(context);
      const query = request.query;
      return pageJson(
        await namingCursor(query.cursor, () =>
          listConnectionCallLogs(data, projectId, request.params.id, logQuery(query)),
        ),
      );
    },
  );
}
