import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OAuth2Auth } from '../../../src/core/oauth/endpoints.js';
import { revokeToken } from '../../../src/core/oauth/revoke.js';
import { OAuthError, requestToken } from '../../../src/core/oauth/token-endpoint.js';

/**
 * Providers that answer every error as HTTP 200 with `{"ok": false, "error": ...}` (Slack's
 * oauth.v2.access and auth.revoke): the token exchange names the error, and a revocation that
 * names one is reported as failed, never as done.
 */
const auth: OAuth2Auth = {
  type: 'oauth2',
  grants: ['authorization_code'],
  token_url: 'http://127.0.0.1/token',
  revocation_style: 'bearer',
  scopes: [],
  scope_separator: ',',
  pkce: false,
  client_auth: 'basic',
  client_secret: 'required',
  client_id_env: 'X_CLIENT_ID',
  client_secret_env: 'X_CLIENT_SECRET',
};

let server: Server;
let base = '';
let answer: unknown = {};

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('HTTP 200 answers with "ok": false', () => {
  it('a token request fails naming the error code', async () => {
    answer = { ok: false, error: 'invalid_code' };
    const error = await requestToken(
      `${base}/api/oauth.v2.access`,
      auth,
      { clientId: 'id', clientSecret: 's' },
      {
        grant_type: 'authorization_code',
        code: 'c',
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect((error as OAuthError).error).toBe('invalid_code');
    expect((error as OAuthError).code).toBe('auth_required');
    expect((error as OAuthError).message).toBe(`${base.slice(7)} refused the token request: invalid_code`);
  });

  it('a revocation that names an error failed', async () => {
    answer = { ok: false, error: 'invalid_auth' };
    // (A token of one letter would be hidden wherever the letter is: the error's words never
    // repeat the token.)
    const failure = await revokeToken(`${base}/api/auth.revoke`, auth, undefined, {
      value: 'xoxp-token',
      hint: 'access_token',
    });
    expect(failure).toBe(`${base.slice(7)} refused the revocation: invalid_auth`);
  });

  it('a revocation answered ok, or with an empty 200 (RFC 7009), succeeded', async () => {
    answer = { ok: true, revoked: true };
    expect(
      await revokeToken(`${base}/api/auth.revoke`, auth, undefined, { value: 't', hint: 'access_token' }),
    ).toBeUndefined();
    answer = {};
    expect(
      await revokeToken(`${base}/revoke`, { ...auth, revocation_style: 'rfc7009' }, undefined, {
        value: 't',
        hint: 'refresh_token',
      }),
    ).toBeUndefined();
  });
});
