import type { FastifyRequest } from 'fastify';
import { ConnectrError } from '../../core/errors.js';
import type { ApiKeyIdentity, ApiKeyScope, ApiKeyVerifier } from '../contracts.js';
import type { App } from '../types.js';

/**
 * API keys: every route needs `Authorization: Bearer <key>` except those listed here. The
 * identity of the key is attached to the request for routes to read with `identityOf`. A key
 * reaches the routes of its scope only: a project key its project's API, a metrics key
 * GET /metrics alone (every project's numbers: no project's key may read them).
 */

/**
 * Routes anyone may call (route templates, any method, or "METHOD template" for one method),
 * and the prefix of the documentation's routes. The OAuth callback is public for the browser's
 * GET only (the state is its credential); its POST form needs a key. Providers' pushes are
 * public: their signature is checked by the route (routes/provider-events).
 */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  '/health',
  '/ready',
  '/openapi.json',
  'GET /api/v1/oauth/callback',
]);
/**
 * The daemon's web pages check their own credentials (the Connect page its session's token, the
 * console its sign-in cookie) and /assets holds their style sheet and scripts.
 */
export const PUBLIC_PREFIXES: readonly string[] = [
  '/docs',
  '/webhooks/providers',
  '/assets',
  '/connect',
  '/console',
];

export function isPublicRoute(route: string, method?: string): boolean {
  return (
    PUBLIC_ROUTES.has(route) ||
    (method !== undefined && PUBLIC_ROUTES.has(`${method === 'HEAD' ? 'GET' : method} ${route}`)) ||
    PUBLIC_PREFIXES.some((prefix) => route === prefix || route.startsWith(`${prefix}/`))
  );
}

/** Routes that need a scope other than `project`; every other authenticated route needs `project`. */
export const SCOPED_ROUTES: ReadonlyMap<string, ApiKeyScope> = new Map([['/metrics', 'metrics']]);

export function scopeOf(route: string): ApiKeyScope {
  return SCOPED_ROUTES.get(route) ?? 'project';
}

/** What RFC 6750 allows in a bearer token (b64token), bounded: keys are far shorter. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const MAX_AUTHORIZATION = 1024;

export const WWW_AUTHENTICATE = 'Bearer realm="connectr"';

const identities = new WeakMap<FastifyRequest, ApiKeyIdentity>();

/** The caller of an authenticated route; a route marked public has none. */
export function identityOf(request: FastifyRequest): ApiKeyIdentity {
  const identity = identities.get(request);
  if (!identity)
    throw new ConnectrError('internal', `no API key identity on ${request.method} ${request.url}`);
  return identity;
}

const HINT =
  'send "Authorization: Bearer <api key>"; create a key with `connectr serve keys create --name <name>`';

export function installApiKeyAuth(app: App, verifier: ApiKeyVerifier): void {
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    // No route matched: the not-found handler answers 404 or 405 without looking at keys.
    if (route === undefined || isPublicRoute(route, request.method)) return;
    const header = request.headers.authorization;
    if (header === undefined || header === '') {
      void reply.header('www-authenticate', WWW_AUTHENTICATE);
      throw new ConnectrError('auth_required', 'this route needs an API key', { hint: HINT });
    }
    const match = header.length <= MAX_AUTHORIZATION ? BEARER.exec(header) : null;
    const identity = match?.[1] === undefined ? undefined : await verifier.verify(match[1]);
    if (!identity) {
      void reply.header('www-authenticate', `${WWW_AUTHENTICATE}, error="invalid_token"`);
      throw new ConnectrError(
        'auth_required',
        match
          ? 'the API key is not valid (unknown or revoked)'
          : 'the Authorization header is not "Bearer <api key>"',
        { hint: HINT },
      );
    }
    const needed = scopeOf(route);
    if (identity.scope !== needed) {
      // RFC 6750 3.1: the key is valid, but not for this.
      void reply.header(
        'www-authenticate',
        `${WWW_AUTHENTICATE}, error="insufficient_scope", scope="${needed}"`,
      );
      throw needed === 'metrics'
        ? new ConnectrError(
            'forbidden',
            "this route needs an API key with the metrics scope: a project key may not read every project's metrics",
            {
              hint: 'create a key for your scraper: `connectr serve keys create --name <name> --scope metrics`',
            },
          )
        : new ConnectrError(
            'forbidden',
            `this API key has the ${identity.scope} scope: it may only read GET /metrics`,
            {
              hint: "use a project's key for the API: `connectr serve keys create --name <name> --project <project>`",
            },
          );
    }
    identities.set(request, identity);
  });
}
