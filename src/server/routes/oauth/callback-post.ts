import * as z from 'zod';
import { ConnectrError } from '../../../core/errors.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { completeAuthorization } from '../../oauth/flow.js';
import { identityOf } from '../../plugins/auth.js';
import { requireConnection } from '../../store/connections.js';
import { consumeOAuthSession, pendingOAuthStates } from '../../store/oauth-sessions.js';
import { guard } from '../../store/open.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { flowDeps } from './deps.js';
import { CALLBACK_PATH, httpUrl } from './urls.js';

const CallbackBody = z.strictObject({
  connection_id: z.string().min(1).max(100),
  code: z.string().min(1).max(4096).describe('The authorization code your redirect_uri received.'),
  redirect_uri: httpUrl('redirect_uri').describe('The redirect_uri of POST /oauth/authorize, exactly.'),
  state: z
    .string()
    .min(1)
    .max(512)
    .optional()
    .describe('The state of POST /oauth/authorize; needed when more than one sign-in is pending.'),
});

const ConnectionSummary = z.object({
  connection_id: z.string(),
  connector_type: z.string(),
  status: z.string(),
  account_identity: z.string().nullable(),
  scopes: z.array(z.string()),
});

/**
 * `POST /api/v1/oauth/callback`: completes a sign-in for apps whose own redirect_uri received
 * the code. With state: that sign-in, if it is this connection's. Without: the one sign-in
 * pending in the project for this connection's connector and redirect_uri, if there is exactly
 * one and it is this connection's; else a 400 asking for the state.
 */
export function registerOAuthCallbackApi(app: App, context: RouteContext): void {
  app.post(
    CALLBACK_PATH,
    {
      schema: {
        summary: 'Complete an OAuth sign-in with a code',
        tags: ['oauth'],
        body: CallbackBody,
        response: {
          200: ConnectionSummary,
          404: ErrorEnvelopeSchema,
          502: ErrorEnvelopeSchema,
          ...COMMON_ERRORS,
        },
      },
    },
    async (request) => {
      const data = requireData(context);
      const { projectId } = identityOf(request);
      const body = request.body;
      const connection = await guard(data.database, () =>
        requireConnection(data.db, projectId, body.connection_id),
      );
      let state = body.state;
      if (state === undefined) {
        const pending = await guard(data.database, () =>
          pendingOAuthStates(data.db, projectId, {
            connector: connection.connector,
            redirectUri: body.redirect_uri,
          }),
        );
        const only = pending.length === 1 ? pending[0] : undefined;
        if (only?.connectionId !== connection.id) {
          throw new ConnectrError(
            'invalid_input',
            pending.length === 0
              ? `no sign-in of ${connection.connector} with this redirect_uri is pending in this project`
              : `the pending sign-in of ${connection.connector} with this redirect_uri cannot be told apart without its state`,
            {
              details: ['body.state: send the state POST /oauth/authorize returned'],
              hint: 'send state; or start a sign-in with POST /api/v1/oauth/authorize first',
            },
          );
        }
        state = only.state;
      }
      const chosen = state;
      const session = await guard(data.database, () =>
        consumeOAuthSession(data.db, data.keys, chosen, { projectId, connectionId: connection.id }),
      );
      if (session.redirectUri !== body.redirect_uri) {
        throw new ConnectrError(
          'invalid_input',
          'redirect_uri is not the one this sign-in was started with',
          {
            details: ['body.redirect_uri: must equal the redirect_uri of POST /oauth/authorize'],
            hint: 'start the sign-in again with POST /api/v1/oauth/authorize',
          },
        );
      }
      const done = await completeAuthorization(
        flowDeps(context, request.log),
        await context.deps.registry(),
        session,
        body.code,
      );
      return {
        connection_id: done.id,
        connector_type: done.connector,
        status: done.status,
        account_identity: done.accountIdentity,
        scopes: done.scopes,
      };
    },
  );
}
