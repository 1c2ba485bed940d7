import { describe, expect, it } from 'vitest';
import { authorizationUrl } from '../../../src/core/oauth/authorize-url.js';
import type { OAuth2Auth } from '../../../src/core/oauth/endpoints.js';
import { oauthEndpoints } from '../../../src/core/oauth/endpoints.js';
import { parseCallback, startLoopback } from '../../../src/core/oauth/loopback.js';
import { codeChallenge, createPkce, randomToken } from '../../../src/core/oauth/pkce.js';
import { clientAuthentication } from '../../../src/core/oauth/token-endpoint.js';
import { isConnectrError } from '../../../src/core/errors.js';
import { isListening } from '../../helpers/net.js';

const auth: OAuth2Auth = {
  type: 'oauth2',
  grants: ['authorization_code'],
  authorization_url: 'https://auth.example.com/authorize?tenant=x',
  token_url: 'https://auth.example.com/token',
  revocation_style: 'rfc7009',
  scopes: ['a', 'b'],
  scope_separator: ' ',
  authorization_params: { access_type: 'offline' },
  pkce: true,
  client_auth: 'basic',
  client_secret: 'optional',
  client_id_env: 'X_CLIENT_ID',
  client_secret_env: 'X_CLIENT_SECRET',
};

describe('PKCE and state', () => {
  it('computes the S256 challenge of RFC 7636 appendix B', () => {
    expect(codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });
  it('makes 43-character unreserved verifiers and unguessable states', () => {
    const pkce = createPkce();
    expect(pkce.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pkce.challenge).toBe(codeChallenge(pkce.verifier));
    expect(new Set(Array.from({ length: 100 }, () => randomToken())).size).toBe(100);
  });
});

describe('client authentication at the token endpoint', () => {
  it('form-encodes id and secret before base64 for HTTP basic (RFC 6749 §2.3.1)', () => {
    const { headers, fields } = clientAuthentication(auth, {
      clientId: 'id with space',
      clientSecret: 's:e/c+r',
    });
    const decoded = Buffer.from((headers.authorization ?? '').replace('Basic ', ''), 'base64').toString();
    expect(decoded).toBe('id+with+space:s%3Ae%2Fc%2Br');
    expect(fields).toEqual({});
  });
  it('sends the secret in the body for client_auth post, and only the id for public clients', () => {
    expect(
      clientAuthentication({ ...auth, client_auth: 'post' }, { clientId: 'i', clientSecret: 's' }).fields,
    ).toEqual({
      client_id: 'i',
      client_secret: 's',
    });
    expect(clientAuthentication(auth, { clientId: 'i' })).toEqual({
      headers: {},
      fields: { client_id: 'i', client_secret: undefined },
    });
    expect(
      clientAuthentication({ ...auth, client_secret: 'none' }, { clientId: 'i', clientSecret: 's' }).fields,
    ).toEqual({
      client_id: 'i',
      client_secret: undefined,
    });
  });
});

describe('authorization request', () => {
  it('carries response_type, client, redirect, scopes, state, PKCE and the extra params, keeping the endpoint query', () => {
    const url = new URL(
      authorizationUrl(auth.authorization_url ?? '', auth, {
        clientId: 'cid',
        redirectUri: 'http://127.0.0.1:5000/callback',
        scopes: ['a', 'b'],
        state: 'st',
        codeChallenge: 'ch',
      }),
    );
    expect(Object.fromEntries(url.searchParams)).toEqual({
      tenant: 'x',
      response_type: 'code',
      client_id: 'cid',
      redirect_uri: 'http://127.0.0.1:5000/callback',
      scope: 'a b',
      state: 'st',
      code_challenge: 'ch',
      code_challenge_method: 'S256',
      access_type: 'offline',
    });
  });
  it('lets each OAuth URL be redirected by environment variable', () => {
    const endpoints = oauthEndpoints('my-api', auth, {
      CONNECTR_MY_API_TOKEN_URL: 'http://127.0.0.1:1/token',
    });
    expect(endpoints.token).toBe('http://127.0.0.1:1/token');
    expect(endpoints.authorization).toBe(auth.authorization_url);
  });
});

describe('authorization response', () => {
  const at = (query: string): URL => new URL(`http://127.0.0.1:1/callback?${query}`);
  const failure = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (error) {
      return error;
    }
    return undefined;
  };
  it('returns the code when the state matches', () => {
    expect(parseCallback(at('code=abc&state=s1'), '/callback', 's1')).toBe('abc');
  });
  it('refuses a missing or different state', () => {
    for (const query of ['code=abc', 'code=abc&state=s2']) {
      const error = failure(() => parseCallback(at(query), '/callback', 's1'));
      expect(isConnectrError(error) && error.message).toMatch(/state mismatch/);
    }
  });
  it('maps provider errors to messages and exit classes', () => {
    const denied = failure(() => parseCallback(at('error=access_denied&state=s1'), '/callback', 's1'));
    expect(isConnectrError(denied) && [denied.code, denied.message]).toEqual([
      'auth_required',
      'access was denied at the sign-in page',
    ]);
    const scope = failure(() =>
      parseCallback(at('error=invalid_scope&error_description=nope&state=s1'), '/callback', 's1'),
    );
    expect(isConnectrError(scope) && [scope.code, scope.message]).toEqual([
      'invalid_input',
      'the provider rejected the requested scopes: nope',
    ]);
  });
});

describe('loopback redirect server', () => {
  const reachable = isListening;

  it('listens on both 127.0.0.1 and ::1 for a localhost redirect, and closes both', async () => {
    const server = await startLoopback({
      host: 'localhost',
      path: '/callback',
      state: 's',
      displayName: 'X',
    });
    expect(server.redirectUri).toBe(`http://localhost:${server.port}/callback`);
    expect(await reachable('127.0.0.1', server.port)).toBe(true);
    expect(await reachable('::1', server.port)).toBe(true);
    const response = await fetch(`http://[::1]:${server.port}/callback?code=c&state=s`);
    expect(response.status).toBe(200);
    expect(await server.code).toBe('c');
    await server.close();
    expect(await reachable('127.0.0.1', server.port)).toBe(false);
    expect(await reachable('::1', server.port)).toBe(false);
  });

  it('listens on the loopback interface only, answering 404 to other paths and methods', async () => {
    const server = await startLoopback({
      host: '127.0.0.1',
      path: '/callback',
      state: 's',
      displayName: 'X',
    });
    expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/callback`, { method: 'POST' })).status).toBe(404);
    await server.close();
  });

  it('ignores a response without its state (400), and settles only on the one with it', async () => {
    const server = await startLoopback({
      host: '127.0.0.1',
      path: '/callback',
      state: 's',
      displayName: 'X',
    });
    let settled = false;
    server.code.then(
      () => (settled = true),
      () => (settled = true),
    );
    const base = `http://127.0.0.1:${server.port}/callback`;
    for (const query of [
      '?code=evil&state=t',
      '?code=evil',
      '?error=access_denied&state=t',
      '?error=access_denied',
    ]) {
      const response = await fetch(`${base}${query}`);
      expect(response.status, query).toBe(400);
      expect(await response.text(), query).toContain('This response was ignored');
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    const denied = await fetch(`${base}?error=access_denied&state=s`);
    expect(denied.status).toBe(400);
    const error: unknown = await server.code.catch((e: unknown) => e);
    expect(isConnectrError(error) && error.message).toBe('access was denied at the sign-in page');
    await server.close();
  });

  it('names the busy port when a fixed redirect port is taken', async () => {
    const first = await startLoopback({ host: '127.0.0.1', path: '/callback', state: 's', displayName: 'X' });
    const error: unknown = await startLoopback({
      host: '127.0.0.1',
      port: first.port,
      path: '/callback',
      state: 's',
      displayName: 'X',
    }).catch((e: unknown) => e);
    expect(isConnectrError(error) && error.message).toBe(
      `port ${first.port} on 127.0.0.1 is in use, so the sign-in redirect cannot be received`,
    );
    await first.close();
  });
});
