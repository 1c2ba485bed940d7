import { asc, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HealthDeps } from '../../src/server/health/check.js';
import { DAY_MS } from '../../src/server/health/check.js';
import { healthRound } from '../../src/server/health/task.js';
import type { OAuthSecret } from '../../src/server/oauth/tokens.js';
import { tryHealthLock } from '../../src/server/store/connection-health.js';
import { getConnection, updateConnection } from '../../src/server/store/connections.js';
import type { ConnectionPatch } from '../../src/server/store/connections.js';
import { getCredential } from '../../src/server/store/credentials.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { connections, webhookEvents } from '../../src/server/store/schema.js';
import { openUpstream } from '../../src/server/upstream.js';
import { startGmailEmulator } from '../fixtures/emulators/gmail.js';
import type { GmailEmulator } from '../fixtures/emulators/gmail.js';
import { startAuthServer } from '../helpers/oauth-server.js';
import type { TestAuthServer } from '../helpers/oauth-server.js';
import { BACKENDS, PGLITE, variantTitle } from '../helpers/server-store.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * Connection health (issue #23): the daemon's health task refreshes OAuth tokens ahead of need
 * through the one refresh algorithm (a real OAuth server, oauth2-mock-server, counts the grants)
 * and calls the connector's health endpoint (Gmail's get_profile on the emulator, 127.0.0.1) for
 * idle connections; POST /connections/{id}/check does the same now. An authentication refusal
 * makes a connection needs_reauth, once; a 5xx or a network failure does not. Rounds run here by
 * hand on the server's clock, which the tests move on (a day in a line); the timer itself is
 * tested apart with a short interval.
 */

/** A clock the test moves on: the server's `now`. */
class TestClock {
  private offset = 0;
  readonly now = (): number => Date.now() + this.offset;
  advance(ms: number): void {
    this.offset += ms;
  }
}

interface Provider {
  auth: TestAuthServer;
  gmail: GmailEmulator;
  /** Access tokens the authorization server gave out: the emulator takes only those and `seed-*`. */
  valid: Set<string>;
  /** The API refuses every token (a revoked grant the token endpoint does not know of yet). */
  refuseAll: boolean;
  /** The token endpoint answers invalid_grant to the next refresh. */
  refuseNextGrant: boolean;
  refreshes(): number;
  close(): Promise<void>;
}

async function startProvider(): Promise<Provider> {
  const auth = await startAuthServer();
  const provider: Provider = {
    auth,
    gmail: undefined as unknown as GmailEmulator,
    valid: new Set(),
    refuseAll: false,
    refuseNextGrant: false,
    refreshes: () => auth.tokenRequests.filter((r) => r.grant_type === 'refresh_token').length,
    async close() {
      await provider.gmail.close();
      await auth.stop();
    },
  };
  auth.server.service.on(
    'beforeResponse',
    (response: { statusCode: number; body: Record<string, unknown> }) => {
      if (provider.refuseNextGrant) {
        provider.refuseNextGrant = false;
        response.statusCode = 400;
        response.body = { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' };
        return;
      }
      if (typeof response.body.access_token === 'string') provider.valid.add(response.body.access_token);
    },
  );
  provider.gmail = await startGmailEmulator({
    acceptToken: (t) => !provider.refuseAll && (provider.valid.has(t) || t.startsWith('seed-')),
  });
  return provider;
}

const profileCalls = (gmail: GmailEmulator): number =>
  gmail.requests.filter((r) => r.url.pathname.endsWith('/profile')).length;

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`connection health on ${variantTitle(variant)}`, () => {
    let provider: Provider;
    let daemon: TestDaemon;
    let store: OpenedServerStore;
    let projectId = '';
    let key = '';
    const clock = new TestClock();
    const upstream = openUpstream({});
    let deps: HealthDeps;

    beforeAll(async () => {
      provider = await startProvider();
      daemon = await withServer({
        backend: variant,
        env: {
          ...provider.auth.envFor('gmail'),
          CONNECTR_GMAIL_API_BASE_URL: provider.gmail.url,
          GMAIL_CLIENT_ID: 'server-client',
          GMAIL_CLIENT_SECRET: 'server-client-secret',
        },
        now: clock.now,
        // Rounds are run by hand below, on the moved clock.
        app: { healthEveryMs: 0 },
      });
      store = daemon.store;
      projectId = await daemon.project('health');
      key = await daemon.key(projectId);
      deps = {
        data: store,
        env: daemon.env,
        registry: () => Promise.resolve(daemon.registry),
        dispatcher: upstream.dispatcher,
        now: clock.now,
        everyMs: 1000,
      };
    }, 60_000);

    afterAll(async () => {
      await daemon.close();
      await upstream.close();
      await provider.close();
    });

    beforeEach(() => {
      provider.refuseAll = false;
      provider.refuseNextGrant = false;
    });

    afterEach(async () => {
      // Each test counts the grants of its own connection: those of the tests before rest.
      await store.db
        .update(connections)
        .set({ status: 'revoked' })
        .where(eq(connections.projectId, projectId));
    });

    /** An active Gmail connection with a token expiring in `expiresInMs`, as a sign-in leaves it. */
    async function signedIn(name: string, expiresInMs: number, patch: ConnectionPatch = {}): Promise<string> {
      const expiresAt = new Date(clock.now() + expiresInMs);
      const id = await daemon.connection(projectId, {
        connector: 'gmail',
        name,
        secret: {
          access_token: `seed-${name}`,
          refresh_token: `refresh-${name}`,
          token_type: 'Bearer',
          scopes: [],
        } satisfies OAuthSecret,
        expiresAt,
      });
      await updateConnection(store.db, projectId, id, { status: 'active', ...patch });
      return id;
    }

    async function view(id: string): Promise<Record<string, unknown>> {
      const answer = await daemon.app.inject({
        method: 'GET',
        url: `/api/v1/connections/${id}`,
        headers: { authorization: `Bearer ${key}` },
      });
      expect(answer.statusCode).toBe(200);
      return answer.json<Record<string, unknown>>();
    }

    async function check(id: string): Promise<Record<string, unknown>> {
      const answer = await daemon.app.inject({
        method: 'POST',
        url: `/api/v1/connections/${id}/check`,
        headers: { authorization: `Bearer ${key}` },
      });
      expect(answer.statusCode, answer.body).toBe(200);
      return answer.json<Record<string, unknown>>();
    }

    /** The connection's events in the outbox, in order: type, and the reason's code where there is one. */
    const events = async (id: string): Promise<string[]> =>
      (
        await store.db
          .select({ type: webhookEvents.type, payload: webhookEvents.payload })
          .from(webhookEvents)
          .where(eq(webhookEvents.connectionId, id))
          .orderBy(asc(webhookEvents.seq))
      ).map(({ type, payload }) => {
        const reason = (payload as { reason?: { code?: string } }).reason?.code;
        return reason ? `${type} ${reason}` : type;
      });

    const accessToken = async (id: string): Promise<string | undefined> =>
      (await getCredential<OAuthSecret>(store.db, store.keys, projectId, id))?.secret.access_token;

    it('refreshes the token of a connection used lately before it expires, and calls nothing else', async () => {
      const id = await signedIn('busy', 4 * 60_000, { lastUsedAt: new Date(clock.now() - 3_600_000) });
      const refreshes = provider.refreshes();
      const probes = profileCalls(provider.gmail);
      await healthRound(deps);
      expect(provider.refreshes()).toBe(refreshes + 1);
      // Used within the day: no health call is spent on it.
      expect(profileCalls(provider.gmail)).toBe(probes);
      expect(await accessToken(id)).not.toBe('seed-busy');
      const shown = await view(id);
      expect(shown).toMatchObject({ status: 'active', last_error: null });
      expect(shown.last_refresh_at).toEqual(expect.any(String));
      expect(shown.last_checked_at).toEqual(expect.any(String));
      // The next round finds it fresh.
      await healthRound(deps);
      expect(provider.refreshes()).toBe(refreshes + 1);
    });

    it('refreshes an idle connection at least once a day, checks it, and no more often', async () => {
      const id = await signedIn('idle', 3_600_000);
      const refreshes = provider.refreshes();
      const probes = profileCalls(provider.gmail);
      await healthRound(deps);
      // Never refreshed as far as the store knows: refreshed now, and checked (never used).
      expect(provider.refreshes()).toBe(refreshes + 1);
      expect(profileCalls(provider.gmail)).toBe(probes + 1);
      clock.advance(DAY_MS - 3_600_000);
      await healthRound(deps);
      expect(provider.refreshes()).toBe(refreshes + 1);
      clock.advance(2 * 3_600_000);
      await healthRound(deps);
      expect(provider.refreshes()).toBe(refreshes + 2);
      expect(profileCalls(provider.gmail)).toBe(probes + 2);
      expect(await view(id)).toMatchObject({ status: 'active', last_error: null });
    });

    it('marks a connection whose API refuses even a refreshed token needs_reauth, once; a pass restores it', async () => {
      const id = await signedIn('revoked', 3_600_000);
      provider.refuseAll = true;
      const refreshes = provider.refreshes();
      const first = await check(id);
      // One refresh (never refreshed as far as the store knows); the API refused the new token too.
      expect(provider.refreshes()).toBe(refreshes + 1);
      expect(first).toMatchObject({ status: 'needs_reauth', last_error: { code: 'health_check_failed' } });
      expect(JSON.stringify(first)).not.toMatch(/seed-|refresh-revoked|eyJ/);
      // Checked again: still needs_reauth, not changed again, and no refresh within the window.
      const again = await check(id);
      expect(again).toMatchObject({ status: 'needs_reauth', updated_at: first.updated_at });
      expect(provider.refreshes()).toBe(refreshes + 1);
      // Execute refuses it meanwhile.
      const refused = await daemon.app.inject({
        method: 'POST',
        url: '/api/v1/proxy/execute',
        headers: { authorization: `Bearer ${key}` },
        payload: { connection_id: id, endpoint: 'get_profile' },
      });
      expect(refused.statusCode).toBe(409);
      provider.refuseAll = false;
      clock.advance(60_000);
      expect(await check(id)).toMatchObject({ status: 'active', last_error: null });
      // One event for the breakage however often it is checked, one for the mend.
      expect(await events(id)).toEqual([
        'connection.needs_reauth health_check_failed',
        'connection.restored',
      ]);
    });

    it('leaves a connection active when the check meets a 5xx or a dropped connection, saying so', async () => {
      const id = await signedIn('flaky', 3_600_000);
      provider.gmail.faults.push({
        match: (r) => r.url.pathname.endsWith('/profile'),
        status: 500,
        times: 5,
      });
      expect(await check(id)).toMatchObject({
        status: 'active',
        last_error: { code: 'upstream_error', message: expect.stringContaining('500') as unknown },
      });
      provider.gmail.faults.length = 0;
      provider.gmail.faults.push({ match: (r) => r.url.pathname.endsWith('/profile'), drop: true, times: 5 });
      expect(await check(id)).toMatchObject({ status: 'active', last_error: { code: 'network' } });
      provider.gmail.faults.length = 0;
      expect(await check(id)).toMatchObject({ status: 'active', last_error: null });
      // A passing or failing check of an active connection is no event: only a breakage or a mend.
      expect(await events(id)).toEqual([]);
    });

    it('marks needs_reauth when the provider refuses the refresh (invalid_grant)', async () => {
      const id = await signedIn('rejected', 30_000, { lastUsedAt: new Date(clock.now()) });
      provider.refuseNextGrant = true;
      await healthRound(deps);
      expect(await view(id)).toMatchObject({
        status: 'needs_reauth',
        last_error: {
          code: 'refresh_rejected',
          message: expect.stringContaining('invalid_grant') as unknown,
        },
      });
      // A refused grant is not asked again by later rounds: only a sign-in helps.
      const refreshes = provider.refreshes();
      clock.advance(DAY_MS + 60_000);
      await healthRound(deps);
      expect(provider.refreshes()).toBe(refreshes);
      expect(await events(id)).toEqual(['connection.needs_reauth refresh_rejected']);
    });

    it('records when a call used the connection, at most once per few minutes', async () => {
      const id = await signedIn('used', 3_600_000);
      const execute = async (): Promise<void> => {
        const answer = await daemon.app.inject({
          method: 'POST',
          url: '/api/v1/proxy/execute',
          headers: { authorization: `Bearer ${key}` },
          payload: { connection_id: id, endpoint: 'get_profile' },
        });
        expect(answer.statusCode, answer.body).toBe(200);
      };
      const usedAt = async (): Promise<number | undefined> =>
        (await getConnection(store.db, projectId, id))?.lastUsedAt?.getTime();
      const written = async (): Promise<number> => {
        // Written off the request path: shortly after.
        for (let i = 0; i < 100; i++) {
          const at = await usedAt();
          if (at !== undefined) return at;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        throw new Error('last_used_at was never written');
      };
      await execute();
      const first = await written();
      clock.advance(60_000);
      await execute();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await usedAt()).toBe(first);
      clock.advance(5 * 60_000);
      await execute();
      for (let i = 0; i < 100 && (await usedAt()) === first; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await usedAt()).toBeGreaterThan(first);
      expect((await view(id)).last_used_at).toEqual(expect.any(String));
      // A check is not a use.
      const before = await usedAt();
      clock.advance(10 * 60_000);
      await check(id);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await usedAt()).toBe(before);
    });

    it("answers 400 to a check of a malformed id, 404 to an unknown one or another project's", async () => {
      for (const id of ['..%2Fconnections', 'conn_%00', 'x'.repeat(300)]) {
        const answer = await daemon.app.inject({
          method: 'POST',
          url: `/api/v1/connections/${id}/check`,
          headers: { authorization: `Bearer ${key}` },
        });
        expect(answer.statusCode, id).toBeGreaterThanOrEqual(400);
        expect(answer.statusCode, id).toBeLessThan(500);
        expect(answer.json<{ error: { code: string } }>().error.code).toEqual(expect.any(String));
      }
      const unauthenticated = await daemon.app.inject({
        method: 'POST',
        url: '/api/v1/connections/conn_x/check',
      });
      expect(unauthenticated.statusCode).toBe(401);
      const other = await daemon.project('other-health');
      const theirs = await daemon.connection(other, { connector: 'gmail', name: 'theirs' });
      for (const id of [theirs, 'conn_doesnotexist0000000000']) {
        const answer = await daemon.app.inject({
          method: 'POST',
          url: `/api/v1/connections/${id}/check`,
          headers: { authorization: `Bearer ${key}` },
        });
        expect(answer.statusCode).toBe(404);
      }
    });

    it.skipIf(variant.name !== 'postgres')(
      'refreshes once when two instances run their rounds together',
      async () => {
        const id = await signedIn('shared', 60_000, { lastUsedAt: new Date(clock.now()) });
        const other = await daemon.another();
        const refreshes = provider.refreshes();
        const rounds = await Promise.all([
          healthRound(deps),
          healthRound({ ...deps, data: other.store }),
          healthRound(deps),
        ]);
        expect(rounds).toContain(true);
        expect(provider.refreshes()).toBe(refreshes + 1);
        expect(await accessToken(id)).not.toBe('seed-shared');
      },
    );

    it.skipIf(variant.name !== 'postgres')(
      'skips its round while another instance holds the round',
      async () => {
        const other = await daemon.another();
        await other.store.db.transaction(async (tx) => {
          expect(await tryHealthLock(tx)).toBe(true);
          expect(await healthRound(deps)).toBe(false);
        });
        expect(await healthRound(deps)).toBe(true);
      },
    );
  });
}

describe(`the health task on ${variantTitle(PGLITE)}`, () => {
  it('runs on its own at the configured interval', async () => {
    const provider = await startProvider();
    const daemon = await withServer({
      backend: PGLITE,
      env: {
        ...provider.auth.envFor('gmail'),
        CONNECTR_GMAIL_API_BASE_URL: provider.gmail.url,
        GMAIL_CLIENT_ID: 'server-client',
        GMAIL_CLIENT_SECRET: 'server-client-secret',
        CONNECTR_HEALTH_INTERVAL_MS: '50',
      },
    });
    try {
      const projectId = await daemon.project('timer');
      const id = await daemon.connection(projectId, {
        connector: 'gmail',
        secret: {
          access_token: 'seed-timer',
          refresh_token: 'refresh-timer',
          token_type: 'Bearer',
          scopes: [],
        },
        expiresAt: new Date(Date.now() + 120_000),
      });
      await updateConnection(daemon.store.db, projectId, id, { status: 'active', lastUsedAt: new Date() });
      for (let i = 0; i < 100 && provider.refreshes() === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(provider.refreshes()).toBe(1);
    } finally {
      await daemon.close();
      await provider.close();
    }
  }, 30_000);
});
