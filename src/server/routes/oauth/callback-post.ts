import * as z from 'zod';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { identityOf } from '../../plugins/auth.js';
import { completeWithCode } from '../../services/sign-in.js';
import type { App, RouteContext } from '../../types.js';
import { connectionId, visibleAscii } from '../../input.js';
import { flowDeps } from './deps.js';
import { CALLBACK_PATH, httpUrl } from './urls.js';

const CallbackBody = z.strictObject({
  connection_id: connectionId,
  code: visibleAscii('code', 4096).describe('The authorization code your redirect_uri received.'),
  redirect_uri: httpUrl('redirect_uri').describe('The redirect_uri of POST /oauth/authorize, exactly.'),
  state: visibleAscii('state', 512)
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
 * the code. With state: that sign-in, if it is this connection's or bound to none, of its
 * connector. Without (the old system's form): the one sign-in pending in the project for this
 * connection's connector and redirect_uri, if there is exactly one and it is this connection's
 * or bound to none; else a 400 asking for the state. Either way the session is consumed and
 * bound to the connection by one UPDATE: two completions racing cannot both exchange.
 */
export function registerOAuthCallbackApi(app: App, context: RouteContext): void {
  app.post(
    CALLBACK_PATH,
    {
      schema: {
        summary: 'Complete an OAuth sign-in with a code',
        description:
          'Exchanges the code with the PKCE verifier of the sign-in it belongs to, and stores the tokens on connection_id. A sign-in started with connector_type completes into the connection named here, if it is of that connector.',
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
      const { projectId } = identityOf(request);
      const body = request.body;
      const done = await completeWithCode(
        flowDeps(context, request.log),
        await context.deps.registry(),
        projectId,
        {
          connectionId: body.connection_id,
          code: body.code,
          redirectUri: body.redirect_uri,
          state: body.state,
        },
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
