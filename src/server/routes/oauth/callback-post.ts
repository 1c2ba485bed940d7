import * as z from 'zod';
import { COMMON_ERRORS, ErrorEnvelopeSchema, FieldError } from '../../errors.js';
import { completeAuthorization } from '../../oauth/flow.js';
import { identityOf } from '../../plugins/auth.js';
import { requireConnection } from '../../store/connections.js';
import type { Connection } from '../../store/connections.js';
import { consumeOAuthSession, pendingSignIns } from '../../store/oauth-sessions.js';
import type { ServerData } from '../../contracts.js';
import { guard } from '../../store/open.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
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
      const data = requireData(context);
      const { projectId } = identityOf(request);
      const body = request.body;
      const connection = await guard(data.database, () =>
        requireConnection(data.db, projectId, body.connection_id),
      );
      const state = body.state ?? (await onlyPendingState(data, projectId, connection, body.redirect_uri));
      const session = await guard(data.database, () =>
        consumeOAuthSession(data.db, data.keys, state, {
          projectId,
          connection: { id: connection.id, connector: connection.connector },
          redirectUri: body.redirect_uri,
        }),
      );
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

/**
 * The state of the one sign-in a code without one can belong to: the only one pending in the
 * project for this connector and redirect URI, if it is this connection's or bound to none.
 * Another connection's pending sign-in makes it ambiguous too: the code may be its.
 */
async function onlyPendingState(
  data: ServerData,
  projectId: string,
  connection: Connection,
  redirectUri: string,
): Promise<string> {
  const pending = await guard(data.database, () =>
    pendingSignIns(data.db, projectId, { connector: connection.connector, redirectUri }),
  );
  const only = pending.length === 1 ? pending[0] : undefined;
  if (only && (only.connectionId === null || only.connectionId === connection.id)) return only.state;
  if (pending.length === 0) {
    const [other] = await guard(data.database, () =>
      pendingSignIns(data.db, projectId, { redirectUri }, undefined, 1),
    );
    if (other) {
      throw new FieldError(
        'body.connection_id',
        `the sign-in pending with this redirect_uri is to ${other.connector}, and connection ${connection.id} is a ${connection.connector} connection`,
        {
          hint: `complete it into a ${other.connector} connection, or start a sign-in of ${connection.connector}`,
        },
      );
    }
  }
  throw new FieldError(
    'body.state',
    pending.length === 0
      ? `no sign-in of ${connection.connector} with this redirect_uri is pending in this project`
      : pending.length === 1
        ? `the sign-in of ${connection.connector} pending with this redirect_uri was started for another connection: send the state of this one's`
        : `the pending sign-ins of ${connection.connector} with this redirect_uri cannot be told apart without their state`,
    { hint: 'send the state POST /oauth/authorize returned; or start a sign-in with it first' },
  );
}
