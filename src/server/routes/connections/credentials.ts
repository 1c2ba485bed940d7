import * as z from 'zod';
import { ConnectrError } from '../../../core/errors.js';
import { MAX_TOKEN_LIFETIME_S } from '../../../core/oauth/token-endpoint.js';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema, FieldError } from '../../errors.js';
import { connectorOf, requireConnection, storeCredential } from '../../services/connections.js';
import type { CredentialToStore } from '../../services/connections.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { NO_CONTROL, dateTime, label } from '../../input.js';
import { ConnectionParams, ConnectionShape, connectionJson } from './shape.js';

/** A secret value: bounded, no control characters (it goes into an HTTP header upstream). */
export const secretValue = (what: string): z.ZodString =>
  z
    .string()
    .min(1, { message: `${what} must not be empty` })
    .max(4096, { message: `${what} has at most 4096 characters` })
    .regex(NO_CONTROL, { message: `${what} must not contain control characters` });

/** RFC 6749 §3.3: a scope token is printable ASCII without space, `"` or `\\`. */
const scopeToken = z
  .string()
  .min(1, { message: 'a scope must not be empty' })
  .max(512, { message: 'a scope has at most 512 characters' })
  .regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, {
    message: 'a scope is printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)',
  });

/** Ten years, as for a provider's answer: an access token that lives longer is a mistake (or a unit error). */
const MAX_EXPIRES_IN = MAX_TOKEN_LIFETIME_S;

const CredentialsBody = z.strictObject({
  api_key: secretValue('api_key').optional().describe('For connectors whose auth_type is api_key.'),
  username: secretValue('username').optional().describe('For connectors whose auth_type is basic.'),
  password: secretValue('password').optional().describe('For connectors whose auth_type is basic.'),
  access_token: secretValue('access_token')
    .optional()
    .describe('For OAuth connectors: a token set obtained elsewhere, e.g. by `connectr connections push`.'),
  refresh_token: secretValue('refresh_token')
    .optional()
    .describe("OAuth: lets the server refresh (with the project's OAuth app, PUT /oauth-apps/{connector})."),
  token_type: z
    .string()
    .max(40, { message: 'token_type has at most 40 characters' })
    .regex(/^[A-Za-z][A-Za-z0-9._-]*$/, { message: 'token_type is a word such as Bearer' })
    .optional()
    .describe('OAuth: the token type (default Bearer).'),
  expires_at: dateTime('expires_at')
    .optional()
    .describe('OAuth: when the access token expires (RFC 3339). Or expires_in, not both.'),
  expires_in: z
    .number()
    .int({ message: 'expires_in is a whole number of seconds' })
    .min(1, { message: 'expires_in is at least 1 second' })
    .max(MAX_EXPIRES_IN, { message: `expires_in is at most ${MAX_EXPIRES_IN} seconds` })
    .optional()
    .describe('OAuth: seconds from now until the access token expires.'),
  scopes: z
    .array(scopeToken)
    .max(100, { message: 'at most 100 scopes' })
    .optional()
    .describe('OAuth: the scopes granted.'),
  account: label('account', 320)
    .optional()
    .describe('OAuth: who signed in, as the provider names them (shown as account_identity).'),
});
type CredentialsBody = z.infer<typeof CredentialsBody>;

const OAUTH_FIELDS = [
  'access_token',
  'refresh_token',
  'token_type',
  'expires_at',
  'expires_in',
  'scopes',
  'account',
] as const satisfies readonly (keyof CredentialsBody)[];

/** What to store for this auth type, or a 400 naming the field that is missing or out of place. */
function credentialFor(authType: string, body: CredentialsBody, now: Date): CredentialToStore {
  const stray = (fields: readonly (keyof CredentialsBody)[], expected: string, hint?: string): void => {
    for (const field of fields)
      if (body[field] !== undefined)
        throw new FieldError(
          `body.${field}`,
          `this connection's connector takes ${expected}, not ${field}`,
          hint === undefined ? {} : { hint },
        );
  };
  switch (authType) {
    case 'api_key':
      stray(['username', 'password', ...OAUTH_FIELDS], '{"api_key"}');
      if (body.api_key === undefined) throw new FieldError('body.api_key', 'api_key is required');
      return { kind: 'secret', secret: { api_key: body.api_key } };
    case 'basic':
      stray(['api_key', ...OAUTH_FIELDS], '{"username", "password"}');
      if (body.username === undefined) throw new FieldError('body.username', 'username is required');
      if (body.password === undefined) throw new FieldError('body.password', 'password is required');
      // RFC 7617: the user-id of Basic authentication cannot contain a colon.
      if (body.username.includes(':'))
        throw new FieldError('body.username', 'username must not contain ":" (HTTP Basic cannot carry it)');
      return { kind: 'secret', secret: { username: body.username, password: body.password } };
    case 'oauth2': {
      const signIn =
        'send a token set {"access_token", "refresh_token", "expires_at"} (connectr connections push does), or use POST /api/v1/oauth/authorize to sign the user in';
      stray(['api_key', 'username', 'password'], 'an OAuth token set', signIn);
      if (body.access_token === undefined)
        throw new FieldError('body.access_token', 'access_token is required', { hint: signIn });
      if (body.expires_at !== undefined && body.expires_in !== undefined)
        throw new FieldError('body.expires_in', 'give expires_at or expires_in, not both');
      const expiresAt =
        body.expires_at !== undefined
          ? new Date(body.expires_at)
          : body.expires_in !== undefined
            ? new Date(now.getTime() + body.expires_in * 1000)
            : null;
      return {
        kind: 'tokens',
        tokens: {
          accessToken: body.access_token,
          tokenType: body.token_type ?? 'Bearer',
          refreshToken: body.refresh_token,
          scopes: body.scopes ?? [],
          expiresAt,
        },
        identity: body.account,
      };
    }
    default:
      throw new ConnectrError('invalid_input', "this connection's connector needs no credentials");
  }
}

/**
 * `PUT /api/v1/connections/{id}/credentials`: stores the API key or user name and password of
 * an api_key or basic connection, or the token set of an OAuth one (sealed as the web flow
 * seals it: oauth/tokens.ts), encrypted, and marks it active. The secret is never sent back.
 */
export function registerPutCredentials(app: App, context: RouteContext): void {
  app.put(
    '/api/v1/connections/:id/credentials',
    {
      schema: {
        summary: "Store a connection's API key, password or OAuth token set",
        description:
          'Body {"api_key"} for api_key connectors, {"username", "password"} for basic ones, and for OAuth connectors a token set obtained elsewhere: {"access_token", "refresh_token"?, "expires_at"? (RFC 3339) or "expires_in"?, "scopes"?, "token_type"?, "account"?} (connectr connections push sends one; POST /oauth/authorize signs a user in instead). Replaces any stored credential and makes the connection active. Answers with the connection, never the secret.',
        tags: ['connections'],
        params: ConnectionParams,
        body: CredentialsBody,
        response: { 200: ConnectionShape, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const data = requireData(context);
      const id = request.params.id;
      const connection = await requireConnection(data, projectId, id);
      const connector = connectorOf(await context.deps.registry(), connection);
      if (!connector) {
        throw new ConnectrError(
          'invalid_input',
          `connector "${connection.connector}" of connection ${id} is no longer defined on this server`,
          { hint: 'restore its definition, or delete the connection' },
        );
      }
      const now = new Date();
      const toStore = credentialFor(connector.auth.type, request.body, now);
      return connectionJson(await storeCredential(data, connection, toStore, now));
    },
  );
}
