import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { startGmailEmulator } from '../fixtures/emulators/gmail.js';
import type { Emulator } from '../fixtures/emulators/server.js';
import { tempHome } from './home.js';
import { formOf, startAuthServer } from './oauth-server.js';
import type { TestAuthServer } from './oauth-server.js';

export const SCRIPTED_BROWSER = join(import.meta.dirname, '../fixtures/browser/scripted-browser.mjs');

/**
 * The world of a Gmail sign-in test: a real authorization server, the Gmail emulator, a fresh
 * CONNECTR_HOME per test, and the environment that points connectr at them with the scripted
 * browser. Registers its own vitest hooks; read the fields inside tests.
 */
export interface GmailSignIn {
  readonly auth: TestAuthServer;
  readonly gmail: Emulator;
  readonly home: ReturnType<typeof tempHome>;
  /** Makes the Gmail emulator answer 401 to this access token from now on ('*': to every token). */
  rejectToken(token: string): void;
  /** The environment for `connectr`, with the scripted browser in `mode`. */
  env(mode?: string, extra?: Record<string, string>): Record<string, string>;
}

export function useGmailSignIn(): GmailSignIn {
  let auth: TestAuthServer | undefined;
  let gmail: Emulator | undefined;
  let home: ReturnType<typeof tempHome> | undefined;
  const rejected = new Set<string>();
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is used outside a test`);
    return value;
  };
  beforeAll(async () => {
    auth = await startAuthServer();
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
    const server = need(auth, 'the auth server');
    server.tokenRequests.length = 0;
    server.revocations.length = 0;
    // Drop one-off hooks a previous test left unused, keep counting requests.
    server.server.service.removeAllListeners('beforeResponse');
    server.server.service.on('beforeResponse', (_res, req) => {
      server.tokenRequests.push(formOf(req));
    });
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
