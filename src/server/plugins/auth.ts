import type { FastifyRequest } from 'fastify';
import { ConnectrError } from '../../core/errors.js';
import type { ApiKeyIdentity, ApiKeyVerifier } from '../contracts.js';
import type { App } from '../types.js';

/**
 * API keys: every route needs `Authorization: Bearer <key>` except those listed here. The
 * identity of the key is attached to the request for routes to read with `identityOf`.
 */

/**
 * Routes anyone may call (route templates, any method, or "METHOD template" for one method),
 * and the prefix of the documentation's routes. The OAuth callback is public for the browser's
 * GET only (the state is its credential); its POST form needs a key.
 */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  '/health',
  '/ready',
  '/openapi.json',
  'GET /api/v1/oauth/callback',
]);
export const PUBLIC_PREFIXES: readonly string[] = ['/docs'];

export function isPublicRoute(route: string, method?: string): boolean {
  return (
    PUBLIC_ROUTES.has(route) ||
    (method !== undefined && PUBLIC_ROUTES.has(`${method === 'HEAD' ? 'GET' : method} ${route}`)) ||
    PUBLIC_PREFIXES.some((prefix) => route === prefix || route.startsWith(`${prefix}/`))
  );
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
    identities.set(request, identity);
  });
}
