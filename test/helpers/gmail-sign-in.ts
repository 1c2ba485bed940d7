import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { startGmailEmulator } from '../fixtures/emulators/gmail.js';
import type { Emulator } from '../fixtures/emulators/server.js';
import { tempHome } from './home.js';
import { formOf, startAuthServer } from './oauth-server.js';
import type { TestAuthServer } from './oauth-server.js';
import { startOidcServer } from './oidc-server.js';
import type { OidcServer } from './oidc-server.js';

export const SCRIPTED_BROWSER = join(import.meta.dirname, '../fixtures/browser/scripted-browser.mjs');

/**
 * The world of a Gmail sign-in test: a real authorization server, the Gmail emulator, a fresh
 * CONNECTR_HOME per test, and the environment that points connectr at them with the scripted
 * browser. Registers its own vitest hooks; read the fields inside tests.
 *
 * The authorization server is oauth2-mock-server by default (lenient: it accepts any code,
 * secret, refresh token and redirect URI), or with `{ server: 'oidc' }` oidc-provider (strict:
 * PKCE required, redirect URI checked, rotated refresh tokens refused).
 */
export interface GmailSignIn<A extends { readonly tokenRequests: Record<string, string>[] }> {
  readonly auth: A;
  readonly gmail: Emulator;
  readonly home: ReturnType<typeof tempHome>;
  /** Makes the Gmail emulator answer 401 to this access token from now on ('*': to every token). */
  rejectToken(token: string): void;
  /** The environment for `connectr`, with the scripted browser in `mode`. */
  env(mode?: string, extra?: Record<string, string>): Record<string, string>;
}

export function useGmailSignIn(options?: { server: 'mock' }): GmailSignIn<TestAuthServer>;
export function useGmailSignIn(options: { server: 'oidc' }): GmailSignIn<OidcServer>;
export function useGmailSignIn(
  options: { server: 'mock' | 'oidc' } = { server: 'mock' },
): GmailSignIn<TestAuthServer> | GmailSignIn<OidcServer> {
  return options.server === 'oidc'
    ? world(startOidcServer, (server) => {
        server.reset();
      })
    : world(startAuthServer, (server) => {
        server.tokenRequests.length = 0;
        server.revocations.length = 0;
        // Drop one-off hooks a previous test left unused, keep counting requests.
        server.server.service.removeAllListeners('beforeResponse');
        server.server.service.on('beforeResponse', (_res, req) => {
          server.tokenRequests.push(formOf(req));
        });
      });
}

/** What both authorization servers offer. */
interface AuthServer {
  readonly tokenRequests: Record<string, string>[];
  envFor(connector: string): Record<string, string>;
  stop(): Promise<void>;
}

function world<A extends AuthServer>(start: () => Promise<A>, reset: (server: A) => void): GmailSignIn<A> {
  let auth: A | undefined;
  let gmail: Emulator | undefined;
  let home: ReturnType<typeof tempHome> | undefined;
  const rejected = new Set<string>();
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is used outside a test`);
    return value;
  };
  beforeAll(async () => {
    auth = await start();
    gmail = await startGmailEmulator({
      acceptToken: (t) => t.length > 0 && !rejected.has(t) && !rejected.has('*'),
    });
  });
  afterAll(async () => {
    await auth?.stop();
    await gmail?.close();
  });
  beforeEach(() => {
    home = tempHome();
    rejected.clear();
    reset(need(auth, 'the auth server'));
  });
  afterEach(() => {
    home?.cleanup();
  });
  return {
    get auth() {
      return need(auth, 'the auth server');
    },
    get gmail() {
      return need(gmail, 'the Gmail emulator');
    },
    get home() {
      return need(home, 'the home');
    },
    rejectToken(token) {
      rejected.add(token);
    },
    env(mode = 'follow', extra = {}) {
      const h = need(home, 'the home');
      return {
        ...h.env,
        ...need(auth, 'the auth server').envFor('gmail'),
        CONNECTR_GMAIL_API_BASE_URL: need(gmail, 'the Gmail emulator').url,
        GMAIL_CLIENT_ID: 'connectr-test-client',
        GMAIL_CLIENT_SECRET: 'connectr-test-secret',
        CONNECTR_BROWSER: `${process.execPath} ${SCRIPTED_BROWSER}`,
        SCRIPTED_BROWSER: mode,
        SCRIPTED_BROWSER_LOG: join(h.dir, 'browser.log'),
        ...extra,
      };
    },
  };
}
