import { envSegment } from '../connector/model.js';
import type { Connector } from '../connector/model.js';
import type { AuthDeps } from './deps.js';
import type { ResolvedCredential } from './tokens.js';

/** Credentials from the environment: for automation, they take precedence over stored accounts. */

/** CONNECTR_<NAME>_TOKEN: a token for automation that takes precedence over stored accounts. */
export function tokenEnvName(connector: string): string {
  return `CONNECTR_${envSegment(connector)}_TOKEN`;
}

export function credentialFromEnv(connector: Connector, deps: AuthDeps): ResolvedCredential | undefined {
  const variable = tokenEnvName(connector.name);
  const token = deps.env[variable];
  const auth = connector.auth;
  if (token) {
    if (auth.type === 'basic') {
      const [username = '', ...rest] = token.split(':');
      return {
        credential: { kind: 'basic', username, password: rest.join(':') },
        source: 'environment',
        variable,
      };
    }
    return {
      credential: auth.type === 'api_key' ? { kind: 'api_key', key: token } : { kind: 'bearer', token },
      source: 'environment',
      variable,
    };
  }
  if (auth.type === 'api_key' && deps.env[auth.env]) {
    return {
      credential: { kind: 'api_key', key: deps.env[auth.env] ?? '' },
      source: 'environment',
      variable: auth.env,
    };
  }
  if (auth.type === 'basic' && deps.env[auth.username_env] && deps.env[auth.password_env]) {
    return {
      credential: {
        kind: 'basic',
        username: deps.env[auth.username_env] ?? '',
        password: deps.env[auth.password_env] ?? '',
      },
      source: 'environment',
      variable: auth.password_env,
    };
  }
  return undefined;
}

/** The environment variables that supply this connector's credential without signing in. */
export function automationVariables(connector: Connector): string {
  const auth = connector.auth;
  if (auth.type === 'api_key') return auth.env;
  if (auth.type === 'basic') return `${auth.username_env} and ${auth.password_env}`;
  return tokenEnvName(connector.name);
}
