import * as z from 'zod';
import { ConnectrError } from '../../../core/errors.js';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema, FieldError } from '../../errors.js';
import { requireConnection, updateConnection } from '../../store/connections.js';
import { putCredential } from '../../store/credentials.js';
import { guard } from '../../store/open.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { ConnectionParams, ConnectionShape, connectionJson } from './shape.js';

/** A secret value: bounded, no control characters (it goes into an HTTP header upstream). */
const secretValue = (what: string): z.ZodString =>
  z
    .string()
    .min(1, { message: `${what} must not be empty` })
    .max(4096, { message: `${what} has at most 4096 characters` })
    .regex(/^[^\p{Cc}]*$/u, { message: `${what} must not contain control characters` });

const CredentialsBody = z.strictObject({
  api_key: secretValue('api_key').optional().describe('For connectors whose auth_type is api_key.'),
  username: secretValue('username').optional().describe('For connectors whose auth_type is basic.'),
  password: secretValue('password').optional().describe('For connectors whose auth_type is basic.'),
});
type CredentialsBody = z.infer<typeof CredentialsBody>;

/** The secret to store for this auth type, or a 400 naming the field that is missing or out of place. */
function secretFor(authType: string, body: CredentialsBody): Record<string, string> {
  const stray = (fields: (keyof CredentialsBody)[], expected: string): void => {
    for (const field of fields)
      if (body[field] !== undefined)
        throw new FieldError(`body.${field}`, `this connection's connector takes ${expected}, not ${field}`);
  };
  switch (authType) {
    case 'api_key':
      stray(['username', 'password'], '{"api_key"}');
      if (body.api_key === undefined) throw new FieldError('body.api_key', 'api_key is required');
      return { api_key: body.api_key };
    case 'basic':
      stray(['api_key'], '{"username", "password"}');
      if (body.username === undefined) throw new FieldError('body.username', 'username is required');
      if (body.password === undefined) throw new FieldError('body.password', 'password is required');
      // RFC 7617: the user-id of Basic authentication cannot contain a colon.
      if (body.username.includes(':'))
        throw new FieldError('body.username', 'username must not contain ":" (HTTP Basic cannot carry it)');
      return { username: body.username, password: body.password };
    case 'oauth2':
      throw new ConnectrError('invalid_input', "this connection's connector signs in with OAuth", {
        hint: 'use POST /api/v1/oauth/authorize to sign the user in',
      });
    default:
      throw new ConnectrError('invalid_input', "this connection's connector needs no credentials");
  }
}

/**
 * `PUT /api/v1/connections/{id}/credentials`: stores the API key or user name and password of
 * an api_key or basic connection, encrypted, and marks it active. The secret is never sent back.
 */
export function registerPutCredentials(app: App, context: RouteContext): void {
  app.put(
    '/api/v1/connections/:id/credentials',
    {
      schema: {
        summary: "Store a connection's API key or password",
        description:
          'Body {"api_key"} for api_key connectors, {"username", "password"} for basic ones; OAuth connectors sign in with POST /oauth/authorize instead. Replaces any stored credential. Answers with the connection, never the secret.',
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
      const connection = await guard(data.database, () => requireConnection(data.db, projectId, id));
      const connector = (await context.deps.registry()).get(connection.connector);
      if (!connector) {
        throw new ConnectrError(
          'invalid_input',
          `connector "${connection.connector}" of connection ${id} is no longer defined on this server`,
          { hint: 'restore its definition, or delete the connection' },
        );
      }
      const secret = secretFor(connector.auth.type, request.body);
      const updated = await guard(data.database, () =>
        data.db.transaction(async (tx) => {
          await putCredential(tx, data.keys, { projectId, connectionId: id, secret });
          return updateConnection(tx, projectId, id, { status: 'active', lastError: null });
        }),
      );
      // Deleted between the two steps: the credential went with it.
      if (!updated) return connectionJson(await requireConnection(data.db, projectId, id));
      return connectionJson(updated);
    },
  );
}
