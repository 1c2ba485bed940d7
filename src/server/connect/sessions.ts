import type { Connector } from '../../core/connector/model.js';
import type { Registry } from '../../core/connector/registry.js';
import { FieldError } from '../../core/field-error.js';
import { closest } from '../../core/suggest.js';
import type { ServerData } from '../contracts.js';
import { requireConnection } from '../services/connections.js';
import * as store from '../store/connect-sessions.js';
import type { ConnectSession } from '../store/connect-sessions.js';
import { guard } from '../store/open.js';
import { originProblem, requireAllowedReturn } from './origins.js';

/**
 * Connect sessions as the routes and the Connect page ask for them: made by an app (API key)
 * for one end user, opened by the page with their token, used up by the connection they make.
 * Every query guarded: a lost database is a 503.
 */

export type { ConnectSession } from '../store/connect-sessions.js';

/** How long a session's token opens the page. */
export const CONNECT_SESSION_TTL_MS = 30 * 60_000;

/** Whether the page can connect a user to `connector`: a browser sign-in, an API key or a password. */
export function connectable(connector: Connector): boolean {
  const auth = connector.auth;
  if (auth.type === 'api_key' || auth.type === 'basic') return true;
  return auth.type === 'oauth2' && auth.grants.includes('authorization_code');
}

export interface ConnectSessionInput {
  readonly endUser: {
    readonly id: string;
    readonly email?: string | undefined;
    readonly displayName?: string | undefined;
  };
  readonly allowedConnectors?: readonly string[] | undefined;
  readonly connectionId?: string | undefined;
  readonly returnUrl?: string | undefined;
  readonly tags?: Readonly<Record<string, string>> | undefined;
}

/**
 * A new session and its token (given once). Every allowed connector must be loaded and
 * connectable (400 naming the one that is not); a connection to sign in again must be the
 * project's (404); a return URL's origin must be one the project allows (400 naming it).
 */
export async function createSession(
  data: ServerData,
  registry: Registry,
  projectId: string,
  input: ConnectSessionInput,
  now: Date,
): Promise<{ session: ConnectSession; token: string }> {
  const names = input.allowedConnectors ? [...new Set(input.allowedConnectors)] : undefined;
  names?.forEach((name, index) => {
    const connector = registry.get(name);
    const field = `body.allowed_connectors.${index}`;
    if (!connector) {
      const suggestion = closest(
        name,
        registry.connectors.map((c) => c.name),
      );
      throw new FieldError(field, `unknown connector "${name}" in allowed_connectors`, {
        hint: `${suggestion ? `did you mean "${suggestion}"? ` : ''}GET /api/v1/connectors lists them`,
      });
    }
    if (!connectable(connector))
      throw new FieldError(field, `connector "${name}" cannot be connected on the Connect page`, {
        hint: 'the page signs in with OAuth (authorization code) or takes an API key or a user name and password',
      });
  });
  if (input.connectionId !== undefined) {
    const connection = await requireConnection(data, projectId, input.connectionId);
    if (names && !names.includes(connection.connector))
      throw new FieldError(
        'body.allowed_connectors',
        `connection ${connection.id} is a ${connection.connector} connection, which allowed_connectors leaves out`,
        { hint: 'leave allowed_connectors out when you give connection_id' },
      );
  }
  if (input.returnUrl !== undefined) {
    const allowed = await guard(data.database, () => store.allowedOrigins(data.db, projectId));
    requireAllowedReturn(input.returnUrl, allowed);
  }
  return guard(data.database, () =>
    store.createConnectSession(
      data.db,
      {
        projectId,
        endUserId: input.endUser.id,
        endUserEmail: input.endUser.email,
        endUserDisplayName: input.endUser.displayName,
        allowedConnectors: names,
        connectionId: input.connectionId,
        returnUrl: input.returnUrl,
        tags: input.tags ?? {},
        expiresAt: new Date(now.getTime() + CONNECT_SESSION_TTL_MS),
      },
      now,
    ),
  );
}

export function allowedOrigins(data: ServerData, projectId: string): Promise<string[]> {
  return guard(data.database, () => store.allowedOrigins(data.db, projectId));
}

/** Replaces the project's allowed origins: each an exact https origin (http on loopback only), a 400 naming the first that is not. */
export function putAllowedOrigins(
  data: ServerData,
  projectId: string,
  origins: readonly string[],
  now: Date,
): Promise<string[]> {
  origins.forEach((origin, index) => {
    const problem = originProblem(origin);
    if (problem)
      throw new FieldError(`body.allowed_origins.${index}`, problem, {
        hint: 'e.g. {"allowed_origins": ["https://app.example.com", "http://127.0.0.1:3000"]}',
      });
  });
  return guard(data.database, () => store.putAllowedOrigins(data.db, projectId, [...new Set(origins)], now));
}
