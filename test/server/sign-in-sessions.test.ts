import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorEnvelope } from '../../src/server/errors.js';
import { SESSION_KEEP_MS, SESSION_TTL_MS } from '../../src/server/store/oauth-sessions.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { connections, oauthSessions } from '../../src/server/store/schema.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';
import { callApi } from './helpers.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * Sign-in sessions (issue #21, point 9): 5,000 authorizes used to leave 5,000 rows for good.
 * Expired sessions are purged by a timer in the daemon, and a project may hold at most
 * --max-sign-ins pending at once (a 429 naming the cap) without stopping other projects. On
 * the real store (PGlite, and PostgreSQL where it exists), through a real socket, with the
 * server's clock moved on by the test.
 */

const CAP = 5;

const CONNECTOR = `name: signy
display_name: Signy
version: 1
docs_url: https://example.com/docs
description: Test.
hosts:
  api: https://api.signy.example.com
auth:
  type: oauth2
  grants: [authorization_code]
  authorization_url: https://auth.signy.example.com/authorize
  token_url: https://auth.signy.example.com/token
  scopes: [read]
  client_auth: post
  client_secret: required
  client_id_env: SIGNY_CLIENT_ID
  client_secret_env: SIGNY_CLIENT_SECRET
endpoints:
  me:
    summary: Me.
    method: GET
    path: /me
`;

class TestClock {
  private offset = 0;
  readonly now = (): number => Date.now() + this.offset;
  advance(ms: number): void {
    this.offset += ms;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`sign-in sessions on ${variantTitle(variant)}`, () => {
    let daemon: TestDaemon;
    let store: OpenedServerStore;
    let base = '';
    const clock = new TestClock();
    const keys = { a: '', b: '', c: '' };
    const projects = { a: '', b: '', c: '' };

    beforeAll(async () => {
      daemon = await withServer({
        backend: variant,
        connectors: { signy: CONNECTOR },
        env: { SIGNY_CLIENT_ID: 'signy-client', SIGNY_CLIENT_SECRET: 'signy-SECRET' },
        now: clock.now,
        app: { maxPendingSignIns: CAP, signInPurgeEveryMs: 50 },
        listen: true,
      });
      ({ store, base } = daemon);
      for (const name of ['a', 'b', 'c'] as const) {
        projects[name] = await daemon.project(`project-${name}`);
        keys[name] = await daemon.key(projects[name], { name });
      }
    }, 60_000);

    afterAll(() => daemon.close());

    const authorize = (key: string): ReturnType<typeof callApi> =>
      callApi(base, 'POST', '/api/v1/oauth/authorize', key, { connector_type: 'signy' });

    async function sessionsOf(projectId: string): Promise<number> {
      const [row] = await store.db
        .select({ n: count() })
        .from(oauthSessions)
        .where(eq(oauthSessions.projectId, projectId));
      return row?.n ?? 0;
    }

    it('a project at the cap gets a 429 naming it; another project still signs in; expired ones do not count', async () => {
      for (let i = 0; i < CAP; i++) expect((await authorize(keys.a)).status).toBe(200);
      const refused = await authorize(keys.a);
      expect(refused.status, refused.text).toBe(429);
      expect(refused.headers.get('x-connectr-error')).toBe('1');
      const error = (refused.json as unknown as ErrorEnvelope).error;
      expect(error.code).toBe('too_many_sign_ins');
      expect(error.message).toContain(String(CAP));
      expect(error.hint).toContain('--max-sign-ins');
      expect(await sessionsOf(projects.a)).toBe(CAP);

      expect((await authorize(keys.b)).status).toBe(200);

      // Once they expire, the cap is free again (before any purge).
      clock.advance(SESSION_TTL_MS + 1000);
      expect((await authorize(keys.a)).status).toBe(200);
    });

    it('many sign-ins at once, on a fresh project: never more than the cap pending', async () => {
      const answers = await Promise.all(Array.from({ length: 4 * CAP }, () => authorize(keys.c)));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(CAP);
      expect(answers.filter((a) => a.status === 429)).toHaveLength(3 * CAP);
      expect(await sessionsOf(projects.c)).toBe(CAP);
    });

    it('expired sessions disappear at the next purge tick; pending ones stay; no connection is left behind', async () => {
      const before = (await store.db.select({ n: count() }).from(connections))[0]?.n;
      expect(await sessionsOf(projects.a)).toBeGreaterThan(0);
      expect(await sessionsOf(projects.c)).toBe(CAP);
      clock.advance(SESSION_TTL_MS + SESSION_KEEP_MS + 1000);
      expect((await authorize(keys.b)).status).toBe(200);
      const end = Date.now() + 5000;
      while ((await sessionsOf(projects.a)) + (await sessionsOf(projects.c)) > 0 && Date.now() < end)
        await sleep(25);
      expect(await sessionsOf(projects.a)).toBe(0);
      expect(await sessionsOf(projects.c)).toBe(0);
      // The one started after the clock moved is still pending.
      expect(await sessionsOf(projects.b)).toBe(1);
      // The old form's sign-ins make their connection only when they complete.
      expect((await store.db.select({ n: count() }).from(connections))[0]?.n).toBe(before);
    });
  });
}
