import type { Connector } from '../connector/model.js';
import { ConnectrError, messageOf } from '../errors.js';
import { formatDuration } from '../duration.js';
import { authorizationUrl } from '../oauth/authorize-url.js';
import { oauthEndpoints } from '../oauth/endpoints.js';
import { parseCallback, startLoopback } from '../oauth/loopback.js';
import { createPkce, randomToken } from '../oauth/pkce.js';
import { requestToken } from '../oauth/token-endpoint.js';
import type { OAuthClient } from '../oauth/token-endpoint.js';
import { checkOverrides } from './binding.js';
import type { AuthDeps } from './deps.js';
import { oauth2Of } from './oauth2.js';
import { saveLogin } from './save-login.js';
import type { LoginResult } from './save-login.js';

/**
 * The browser sign-in: authorization code + PKCE + state through a loopback redirect
 * (RFC 8252), or an address the user pastes back with --no-browser.
 */

export interface BrowserLoginOptions {
  readonly account: string;
  readonly scopes: readonly string[];
  readonly port?: number | undefined;
  readonly timeoutMs: number;
  readonly insecureStorage: boolean;
  /** Opens the URL in the user's browser; undefined with --no-browser. */
  readonly openUrl?: ((url: string) => Promise<void>) | undefined;
  /** With --no-browser: the redirect address the user pastes back. */
  readonly pastedUrl?: ((signal: AbortSignal) => Promise<string>) | undefined;
  readonly signal: AbortSignal;
}

export async function loginWithBrowser(
  connector: Connector,
  client: OAuthClient,
  options: BrowserLoginOptions,
  deps: AuthDeps,
): Promise<LoginResult> {
  const auth = oauth2Of(connector);
  checkOverrides(connector, deps.env);
  const endpoints = oauthEndpoints(connector.name, auth, deps.env);
  if (!endpoints.authorization || !auth.grants.includes('authorization_code')) {
    throw new ConnectrError('invalid_input', `${connector.displayName} does not offer browser sign-in`, {
      hint: auth.grants.includes('device_code') ? 'use --device' : undefined,
    });
  }
  const state = randomToken();
  const pkce = auth.pkce ? createPkce() : undefined;
  const redirect = auth.redirect ?? { host: '127.0.0.1' as const, path: '/callback' };
  const server = await startLoopback({
    host: redirect.host,
    port: options.port ?? redirect.port,
    path: redirect.path,
    state,
    displayName: connector.displayName,
    // Said once: any local process can send such requests, and must not flood the terminal.
    onIgnored: once(() => {
      deps.notify(
        'A response without the state connectr sent reached the sign-in server and was ignored; still waiting for the real one.',
      );
    }),
  });
  const local = new AbortController();
  const abort = (): void => {
    local.abort(options.signal.reason);
  };
  options.signal.addEventListener('abort', abort, { once: true });
  try {
    const url = authorizationUrl(endpoints.authorization, auth, {
      clientId: client.clientId,
      redirectUri: server.redirectUri,
      scopes: options.scopes,
      state,
      codeChallenge: pkce?.challenge,
    });
    const waiting: Promise<string>[] = [
      server.code,
      timeoutAfter(options.timeoutMs, local.signal),
      aborted(local.signal),
    ];
    if (options.openUrl) {
      deps.notify(
        `Opening your browser to sign in to ${connector.displayName}. If it does not open, visit:\n\n  ${url}\n`,
      );
      options.openUrl(url).catch((error: unknown) => {
        deps.notify(`Could not open a browser (${messageOf(error)}); open the address above yourself.`);
      });
    } else {
      deps.notify(
        `Open this address in a browser to sign in to ${connector.displayName}:\n\n  ${url}\n\n` +
          `After you approve, the browser is sent to ${server.redirectUri}?... ` +
          'If that page does not load (for example over SSH), copy its full address from the address bar and paste it here.',
      );
    }
    if (options.pastedUrl) {
      waiting.push(
        options.pastedUrl(local.signal).then((pasted) => {
          let parsed: URL;
          try {
            parsed = new URL(pasted.trim());
          } catch {
            throw new ConnectrError('invalid_input', 'the pasted text is not an address', {
              hint: `paste the whole address the browser shows, starting with ${server.redirectUri}`,
            });
          }
          return parseCallback(parsed, redirect.path, state);
        }),
      );
    }
    const code = await Promise.race(waiting);
    deps.notify('Sign-in approved; fetching tokens...');
    const tokens = await requestToken(
      endpoints.token,
      auth,
      client,
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: server.redirectUri,
        code_verifier: pkce?.verifier,
      },
      { ...deps.http, signal: options.signal },
    );
    return await saveLogin(connector, options.account, 'authorization_code', tokens, client, options, deps);
  } finally {
    local.abort();
    options.signal.removeEventListener('abort', abort);
    await server.close();
  }
}

function timeoutAfter(ms: number, signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const timer = setTimeout(() => {
      reject(
        new ConnectrError('timeout', `no sign-in response within ${formatDuration(ms)}`, {
          hint: 'run the login again; pass --timeout to wait longer, or --no-browser/--device when the browser cannot reach this machine',
        }),
      );
    }, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
    });
  });
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => {
      reject(
        signal.reason instanceof Error ? signal.reason : new ConnectrError('cancelled', 'login cancelled'),
      );
    });
  });
}

function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}
