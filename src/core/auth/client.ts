import type { Connector } from '../connector/model.js';
import { appService } from '../credentials/secret-store.js';
import { ConnectrError } from '../errors.js';
import type { OAuth2Auth } from '../oauth/endpoints.js';
import type { OAuthClient } from '../oauth/token-endpoint.js';
import type { AuthDeps } from './deps.js';

/**
 * Which OAuth app signs the user in: the client id (and secret) from the connector's
 * environment variables, else the app saved with `connectr apps set`, else what the user types
 * when a terminal is attached (`ask`). Without any, the error names the variable to set and
 * where to register an app.
 */
export async function resolveClient(
  connector: Connector,
  auth: OAuth2Auth,
  deps: AuthDeps,
  ask?: () => Promise<OAuthClient>,
): Promise<OAuthClient> {
  const envId = deps.env[auth.client_id_env];
  let client: OAuthClient | undefined;
  if (envId) {
    client = { clientId: envId, clientSecret: deps.env[auth.client_secret_env] || undefined };
  } else {
    const saved = await deps.metadata.app(connector.name);
    if (saved) {
      const secret = saved.secret_store
        ? await deps.vault.store(saved.secret_store).get(appService(connector.name), 'client_secret')
        : null;
      client = { clientId: saved.client_id, clientSecret: secret ?? undefined };
    } else if (ask) {
      client = await ask();
    }
  }
  if (!client) {
    throw new ConnectrError('auth_required', `no OAuth client id for ${connector.displayName}`, {
      hint: `set ${auth.client_id_env}${auth.client_secret === 'none' ? '' : ` and ${auth.client_secret_env}`}, or save an app with \`connectr apps set ${connector.name}\`. Register one at ${auth.app_registration_url ?? connector.docsUrl} (see docs/auth.md).`,
    });
  }
  if (auth.client_secret === 'required' && !client.clientSecret) {
    throw new ConnectrError('auth_required', `${connector.displayName} needs the OAuth client secret too`, {
      hint: `set ${auth.client_secret_env}, or save it with \`connectr apps set ${connector.name}\``,
    });
  }
  return auth.client_secret === 'none' ? { clientId: client.clientId } : client;
}

/** Saves an OAuth app for a connector: the id in metadata, the secret in the secret store. */
export async function saveApp(
  connector: Connector,
  client: OAuthClient,
  deps: AuthDeps,
  insecure: boolean,
): Promise<string | undefined> {
  let notice: string | undefined;
  let secretStore;
  if (client.clientSecret) {
    const chosen = await deps.vault.forNewSecrets(insecure);
    await chosen.store.set(appService(connector.name), 'client_secret', client.clientSecret);
    secretStore = chosen.store.kind;
    notice = chosen.notice;
  }
  const previous = await deps.metadata.app(connector.name);
  if (previous?.secret_store && previous.secret_store !== secretStore) {
    await deps.vault.store(previous.secret_store).delete(appService(connector.name), 'client_secret');
  }
  await deps.metadata.setApp(connector.name, {
    client_id: client.clientId,
    ...(secretStore ? { secret_store: secretStore } : {}),
    saved_at: new Date(deps.clock.now()).toISOString(),
  });
  return notice;
}

export async function removeApp(connectorName: string, deps: AuthDeps): Promise<boolean> {
  const saved = await deps.metadata.app(connectorName);
  if (!saved) return false;
  if (saved.secret_store)
    await deps.vault.store(saved.secret_store).delete(appService(connectorName), 'client_secret');
  await deps.metadata.setApp(connectorName, undefined);
  return true;
}
