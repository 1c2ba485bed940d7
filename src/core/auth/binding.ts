import { connectorOrigins } from '../connector/model.js';
import type { Connector } from '../connector/model.js';
import type { AccountRecord, CredentialBinding } from '../credentials/metadata.js';
import { ConnectrError } from '../errors.js';
import { plainHttpProblem } from '../http/plain-http.js';
import { oauthEndpoints, oauthEnvName } from '../oauth/endpoints.js';
import type { Env } from '../paths.js';
import type { AuthDeps } from './deps.js';

/**
 * A stored credential is bound to where it was issued for: the origins of the connector's hosts,
 * its token URL and revocation URL, as in effect at sign-in (environment overrides included). A definition that
 * later says otherwise (a user connector named `gmail` with other hosts) gets nothing: no API
 * call, no refresh. Accounts stored before bindings existed get theirs on first use.
 */

/** Where this connector's credentials go now, with the environment's overrides applied. */
export function currentBinding(connector: Connector, env: Env): CredentialBinding {
  checkOverrides(connector, env);
  const hosts = [...connectorOrigins(connector, env)].sort();
  if (connector.auth.type !== 'oauth2') return { hosts };
  const endpoints = oauthEndpoints(connector.name, connector.auth, env);
  return {
    hosts,
    token_url: endpoints.token,
    ...(endpoints.revocation ? { revocation_url: endpoints.revocation } : {}),
  };
}

/**
 * Environment overrides of base and OAuth URLs must be URLs, and plain http only to loopback:
 * the definition's own URLs are checked when it is loaded, these only now.
 */
export function checkOverrides(connector: Connector, env: Env): void {
  const variables = connector.hosts.map((h) => h.env);
  if (connector.auth.type === 'oauth2') {
    for (const field of ['AUTHORIZATION_URL', 'TOKEN_URL', 'REVOCATION_URL', 'DEVICE_AUTHORIZATION_URL']) {
      variables.push(oauthEnvName(connector.name, field));
    }
  }
  for (const variable of variables) {
    const value = env[variable];
    if (!value) continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new ConnectrError('invalid_input', `${variable} is not an http(s) URL: "${value}"`, {
        hint: `set ${variable} to a URL such as https://host.example.com, or unset it`,
      });
    }
    const problem = plainHttpProblem(value);
    if (problem) {
      throw new ConnectrError('invalid_input', `${variable}: ${problem}`, {
        hint: `set ${variable} to an https:// URL, or unset it`,
      });
    }
  }
}

/**
 * Throws (exit 3) when the definition in effect would send this account's credential elsewhere
 * than where it was issued for; records the binding of an account that has none yet.
 */
export async function checkBinding(
  connector: Connector,
  record: AccountRecord,
  deps: AuthDeps,
): Promise<void> {
  const now = currentBinding(connector, deps.env);
  const then = record.binding;
  if (!then) {
    // Trust on first use: accounts signed in before bindings were recorded.
    await deps.metadata.patch(record.connector, record.account, (r) => {
      r.binding = now;
    });
    return;
  }
  const differences: string[] = [];
  const hostsThen = [...then.hosts].sort();
  if (hostsThen.join(' ') !== now.hosts.join(' ')) {
    differences.push(`hosts at sign-in: ${hostsThen.join(', ')}`, `hosts now: ${now.hosts.join(', ')}`);
  }
  if ((then.token_url ?? '') !== (now.token_url ?? '')) {
    differences.push(
      `token URL at sign-in: ${then.token_url ?? '(none)'}`,
      `token URL now: ${now.token_url ?? '(none)'}`,
    );
  }
  if ((then.revocation_url ?? '') !== (now.revocation_url ?? '')) {
    differences.push(
      `revocation URL at sign-in: ${then.revocation_url ?? '(none)'}`,
      `revocation URL now: ${now.revocation_url ?? '(none)'}`,
    );
  }
  if (differences.length === 0) return;
  const from = connector.source.origin === 'builtin' ? 'the built-in definition' : connector.source.file;
  throw new ConnectrError(
    'auth_required',
    `the ${connector.name} definition in effect (${from}) sends credentials elsewhere than ${connector.name} account "${record.account}" was signed in for; nothing was sent`,
    {
      details: differences,
      hint: `if you trust this definition, sign in again with it: connectr auth ${connector.name} --account ${record.account}; otherwise remove it or the environment override`,
    },
  );
}
