import { checkConnectionNow, healthDeps } from '../../health/check.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { identityOf } from '../../plugins/auth.js';
import { settingsOf } from '../../settings.js';
import type { App, RouteContext } from '../../types.js';
import { ConnectionParams, ConnectionShape, connectionJson } from './shape.js';

/**
 * `POST /api/v1/connections/{id}/check`: the health task's check of one connection, now: its
 * token refreshed when due, its connector's health endpoint called; the connection as it is after.
 */
export function registerCheckConnection(app: App, context: RouteContext): void {
  app.post(
    '/api/v1/connections/:id/check',
    {
      schema: {
        summary: 'Check a connection now',
        description:
          "Refreshes an OAuth token that is due and calls the connector's health endpoint with the stored credential; answers the connection after. An authentication refusal (401/403 after a refresh, invalid_grant) makes it needs_reauth; a network failure or 5xx is only recorded in last_error. A pending connection, or one whose refresh the provider refused, is answered as it is: only a sign-in helps it.",
        tags: ['connections'],
        params: ConnectionParams,
        response: { 200: ConnectionShape, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const deps = healthDeps(context, settingsOf(context.deps).CONNECTR_HEALTH_INTERVAL_MS);
      return connectionJson(await checkConnectionNow(deps, projectId, request.params.id));
    },
  );
}
