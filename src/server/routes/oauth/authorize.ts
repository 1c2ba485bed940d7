import * as z from 'zod';
import { ConnectrError } from '../../../core/errors.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { identityOf } from '../../plugins/auth.js';
import { startSignIn } from '../../services/sign-in.js';
import { connectorOf } from '../../services/connections.js';
import type { App, RouteContext } from '../../types.js';
import { connectionId } from '../../input.js';
import { ConnectorParams, requireConnector } from '../connectors/name.js';
import { flowDeps } from './deps.js';
import type { PublicAddress } from './urls.js';
import { defaultRedirectUri, httpUrl } from './urls.js';

const AuthorizeBody = z
  .strictObject({
    connection_id: connectionId.optional().describe('The connection to sign in (pending or not).'),
    connector_type: ConnectorParams.shape.name
      .optional()
      .describe(
        "The old system's form: a sign-in of this connector that belongs to no connection until POST /oauth/callback completes it into one (or the browser's GET /oauth/callback creates one).",
      ),
    redirect_uri: httpUrl('redirect_uri')
      .optional()
      .describe("Where the provider sends the browser; default: this server's GET /api/v1/oauth/callback."),
    return_url: httpUrl('return_url')
      .optional()
      .describe(
        'Where the browser goes after the callback, signed in or not, with connection_id and status=connected, or status=error&error=<code> added to its query; default: a plain page.',
      ),
  })
  .describe('Give connection_id, or connector_type (the old form).');

const AuthorizeResponse = z.object({
  authorization_url: z.string().describe("The provider's sign-in page: send the user's browser there."),
  state: z.string().describe('Identifies this sign-in; good for one callback within expires_at.'),
  connection_id: z
    .string()
    .nullable()
    .describe('The connection signed in; null for a sign-in started with connector_type.'),
  redirect_uri: z.string(),
  expires_at: z.string().describe('When the sign-in expires (ISO 8601).'),
});

/** `POST /api/v1/oauth/authorize`: starts a browser sign-in for a connection. */
export function registerOAuthAuthorize(
  app: App,
  context: RouteContext,
  address: PublicAddress,
  maxPending: number,
): void {
  app.post(
    '/api/v1/oauth/authorize',
    {
      schema: {
        summary: 'Start an OAuth sign-in',
        description:
          "Returns the provider's authorization URL (state and PKCE S256 inside). The provider sends the browser to redirect_uri, by default this server's GET /api/v1/oauth/callback, which stores the tokens. A project may have at most `connectr serve --max-sign-ins` sign-ins pending (default 1000): beyond that, a 429 too_many_sign_ins until some complete or expire.",
        tags: ['oauth'],
        body: AuthorizeBody,
        response: {
          200: AuthorizeResponse,
          404: ErrorEnvelopeSchema,
          429: ErrorEnvelopeSchema,
          ...COMMON_ERRORS,
        },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const body = request.body;
      if ((body.connection_id === undefined) === (body.connector_type === undefined)) {
        throw new ConnectrError('invalid_input', 'give connection_id, or connector_type, but not both', {
          details: ['body.connection_id: the connection to sign in'],
          hint: 'create the connection with POST /api/v1/connections and pass its id as connection_id',
        });
      }
      const redirectUri = body.redirect_uri ?? defaultRedirectUri(request, address);
      const registry = await context.deps.registry();
      const { started, connection } = await startSignIn(
        flowDeps(context, request.log),
        (name) => requireConnector(registry, name),
        projectId,
        {
          connectionId: body.connection_id,
          connector: body.connector_type,
          redirectUri,
          returnUrl: body.return_url,
          maxPending,
        },
        (connection) => connectorOf(registry, connection),
      );
      return {
        authorization_url: started.authorizationUrl,
        state: started.state,
        connection_id: connection?.id ?? null,
        redirect_uri: redirectUri,
        expires_at: started.expiresAt.toISOString(),
      };
    },
  );
}
