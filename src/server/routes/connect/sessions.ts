import * as z from 'zod';
import { ConnectrError } from '../../../core/errors.js';
import { createSession } from '../../connect/sessions.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { connectionId } from '../../input.js';
import { identityOf } from '../../plugins/auth.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { ConnectorParams } from '../connectors/name.js';
import type { PublicAddress } from '../oauth/urls.js';
import { httpUrl, serverBaseUrl } from '../oauth/urls.js';
import { EndUser, Tags } from './shape.js';

/** Where the Connect page is served. */
export const CONNECT_PATH = '/connect';

const SessionBody = z.strictObject({
  end_user: EndUser,
  allowed_connectors: z
    .array(ConnectorParams.shape.name)
    .min(1, { message: 'allowed_connectors names at least one connector (leave it out for all)' })
    .max(100, { message: 'allowed_connectors names at most 100 connectors' })
    .optional()
    .describe('The connectors the page offers; default: every one it can connect.'),
  connection_id: connectionId
    .optional()
    .describe('Sign this connection in again (e.g. one that needs_reauth) instead of making a new one.'),
  return_url: httpUrl('return_url')
    .optional()
    .describe(
      'Where the browser goes at the end, with connection_id and status=connected, or status=error&error=<code>; its origin must be allowed (PUT /connect/settings).',
    ),
  tags: Tags.optional().describe("Labels the new connection gets (shown in the connection's JSON)."),
});

const SessionAnswer = z.object({
  token: z
    .string()
    .describe('Opens the Connect page of this project for 30 minutes, once; never an API key.'),
  connect_url: z
    .string()
    .describe('The page, with the token in its fragment (never sent to a server, nor in a Referer).'),
  expires_at: z.string(),
});

/** `POST /api/v1/connect/sessions`: a Connect page for one end user. */
export function registerCreateConnectSession(app: App, context: RouteContext, address: PublicAddress): void {
  app.post(
    '/api/v1/connect/sessions',
    {
      schema: {
        summary: 'Create a Connect session',
        description:
          'A token (valid 30 minutes, used up by the connection it makes) that opens the Connect page for one end user: they pick a connector, sign in or type a key, and the connection gets user_id = end_user.id and the tags. The token authorises no /api/v1 route.',
        tags: ['connect'],
        body: SessionBody,
        response: { 201: SessionAnswer, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request, reply) => {
      const { projectId } = identityOf(request);
      const base = serverBaseUrl(request, address);
      if (base === undefined)
        throw new ConnectrError(
          'invalid_input',
          'this server does not know its own address for connect_url',
          {
            hint: 'start the server with --public-url https://your-host',
          },
        );
      const body = request.body;
      const now = new Date((context.deps.now ?? Date.now)());
      const { session, token } = await createSession(
        requireData(context),
        await context.deps.registry(),
        projectId,
        {
          endUser: {
            id: body.end_user.id,
            email: body.end_user.email,
            displayName: body.end_user.display_name,
          },
          allowedConnectors: body.allowed_connectors,
          connectionId: body.connection_id,
          returnUrl: body.return_url,
          tags: body.tags,
        },
        now,
      );
      return reply.code(201).send({
        token,
        connect_url: `${base}${CONNECT_PATH}#${token}`,
        expires_at: session.expiresAt.toISOString(),
      });
    },
  );
}
