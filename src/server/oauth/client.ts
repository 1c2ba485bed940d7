import type { Connector } from '../../core/connector/model.js';
import { ConnectrError } from '../../core/errors.js';
import type { OAuth2Auth } from '../../core/oauth/endpoints.js';
import type { OAuthClient } from '../../core/oauth/token-endpoint.js';
import type { Env } from '../../core/paths.js';
import type { ServerData } from '../contracts.js';
import { getOAuthApp } from '../store/oauth-apps.js';
import { guard } from '../store/open.js';

/**
 * The OAuth app (client id and secret) a project signs its users in to a connector with: the
 * project's row in oauth_apps (secret decrypted by the store), else the server's environment
 * variables the connector names (`GMAIL_CLIENT_ID` / `GMAIL_CLIENT_SECRET`; by default the
 * connector's name in upper case, other characters as `_`), as the old system did. The CLI's
 * equivalent is core/auth/client.ts (environment first there: a person's own shell wins; here
 * the project's own app wins over the server-wide default).
 */
export async function resolveServerClient(
  data: ServerData,
  env: Env,
  projectId: string,
  connector: Connector,
  auth: OAuth2Auth,
): Promise<OAuthClient> {
  const found = await findServerClient(data, env, projectId, connector, auth);
  const client = found?.client;
  const where = found?.where ?? `the server's ${auth.client_secret_env}`;
  const both =
    auth.client_secret === 'none'
      ? `set ${auth.client_id_env}`
      : `set ${auth.client_id_env} and ${auth.client_secret_env}`;
  if (!client) {
    throw new ConnectrError(
      'invalid_input',
      `no OAuth app is configured for ${connector.name} in this project`,
      {
        hint: `save the project's OAuth app with PUT /api/v1/oauth-apps/${connector.name}, or ${both} in the environment of connectr serve and restart it. Register an app at ${auth.app_registration_url ?? connector.docsUrl}`,
      },
    );
  }
  if (auth.client_secret === 'required' && !client.clientSecret) {
    throw new ConnectrError('invalid_input', `${connector.name} needs the OAuth client secret too`, {
      hint: `the client id was found but no secret: add it to ${where}`,
    });
  }
  return auth.client_secret === 'none' ? { clientId: client.clientId } : client;
}

/** The project's OAuth app, else the environment's, as found (no checks); undefined when neither exists. */
export async function findServerClient(
  data: ServerData,
  env: Env,
  projectId: string,
  connector: Connector,
  auth: OAuth2Auth,
): Promise<{ client: OAuthClient; where: string } | undefined> {
  const saved = await guard(data.database, () => getOAuthApp(data.db, data.keys, projectId, connector.name));
  if (saved) {
    return {
      client: { clientId: saved.clientId, clientSecret: saved.clientSecret },
      where: "this project's OAuth app",
    };
  }
  const id = env[auth.client_id_env];
  if (!id) return undefined;
  return {
    client: { clientId: id, clientSecret: env[auth.client_secret_env] || undefined },
    where: `the server's ${auth.client_secret_env}`,
  };
}
