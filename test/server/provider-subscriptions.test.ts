import { createServer, request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/server/store/db.js';
import { updateConnection } from '../../src/server/store/connections.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { providerSubscriptions } from '../../src/server/store/schema.js';
import { createSubscription } from '../../src/server/subscriptions/service.js';
import type { SubscriptionDeps } from '../../src/server/subscriptions/service.js';
import { renewalRound, startSubscriptionTask } from '../../src/server/subscriptions/task.js';
import type { ProviderEvent } from '../../src/server/webhooks/provider-event.js';
import { openUpstream } from '../../src/server/upstream.js';
import { startGmailEmulator } from '../fixtures/emulators/gmail.js';
import type { GmailEmulator } from '../fixtures/emulators/gmail.js';
import { startGraphEmulator } from '../fixtures/emulators/graph.js';
import type { GraphEmulator } from '../fixtures/emulators/graph.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * POST/GET/DELETE /api/v1/connections/{id}/subscriptions and the renewal task, on the real store
 * (PGlite, and real PostgreSQL where it exists), against the Graph and Gmail emulators: Graph
 * validates the daemon's push URL (reached through a relay standing for the public address)
 * before it answers; the clientState connectr chose verifies the notifications Graph then
 * pushes; renewals come before expiry on a clock the test moves, and not while far from it.
 */

const HOUR = 3600_000;
const TOPIC = 'projects/acme/topics/gmail-push';

/** A clock the test moves on: the daemon's and the emulators'. */
class TestClock {
  private offset = 0;
  readonly now = (): number => Date.now() + this.offset;
  advance(ms: number): void {
    this.offset += ms;
  }
}

/** The daemon's public address: a relay on 127.0.0.1 to wherever the daemon listens (known later). */
async function startRelay(): Promise<{ server: Server; url: string; target: { base: string } }> {
  const target = { base: '' };
  const server = createServer((req, res) => {
    const upstream = httpRequest(
      new URL(req.url ?? '/', target.base),
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, target };
}

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`provider subscriptions on ${variantTitle(variant)}`, () => {
    const clock = new TestClock();
    const recorded: ProviderEvent[] = [];
    const upstream = openUpstream({});
    let relay: Awaited<ReturnType<typeof startRelay>>;
    let graph: GraphEmulator;
    let gmail: GmailEmulator;
    let daemon: TestDaemon;
    let store: OpenedServerStore;
    let alpha = '';
    let beta = '';
    let key = '';
    const conns: Record<string, string> = {};
    let deps: SubscriptionDeps;
    const failures: unknown[] = [];
    const round = () =>
      renewalRound(deps, {
        onFailure: (_s, error) => {
          failures.push(error);
        },
      });

    const api = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, as = key) =>
      daemon.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${as}` },
        ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
      });
    const rowOf = async (id: string) =>
      (await store.db.select().from(providerSubscriptions).where(eq(providerSubscriptions.id, id)))[0];
    const patches = () =>
      graph.graph.requests.filter((r) => r.method === 'PATCH' && r.url.pathname.includes('/subscriptions/'))
        .length;

    beforeAll(async () => {
      relay = await startRelay();
      graph = await startGraphEmulator({ now: clock.now });
      gmail = await startGmailEmulator({ now: clock.now, emailAddress: 'ann@example.com' });
      daemon = await withServer({
        backend: variant,
        listen: true,
        now: clock.now,
        env: {
          CONNECTR_ONEDRIVE_GRAPH_BASE_URL: graph.baseUrl,
          CONNECTR_OUTLOOK_GRAPH_BASE_URL: graph.baseUrl,
          CONNECTR_GMAIL_API_BASE_URL: gmail.url,
          CONNECTR_GMAIL_PUSH_TOPIC: TOPIC,
        },
        // Rounds are run by hand below, on the moved clock.
        app: { publicUrl: relay.url, subscriptionEveryMs: 0, healthEveryMs: 0 },
        providerEvents: {
          record: (_tx: Db, event: ProviderEvent) => {
            recorded.push(event);
            return Promise.resolve(true);
          },
        },
      });
      relay.target.base = daemon.base;
      store = daemon.store;
      alpha = await daemon.project('alpha');
      beta = await daemon.project('beta');
      key = await daemon.key(alpha);
      const made = async (name: string, projectId: string, connector: string, token: string) => {
        conns[name] = await daemon.connection(projectId, {
          connector,
          name,
          secret: { access_token: token, token_type: 'Bearer' },
        });
        await updateConnection(store.db, projectId, conns[name], { status: 'active' });
      };
      await made('drive', alpha, 'onedrive', graph.token);
      await made('mail', alpha, 'gmail', 'gmail-token');
      await made('dropbox', alpha, 'dropbox', 'dbx-token');
      await made('theirs', beta, 'onedrive', graph.token);
      deps = {
        data: store,
        env: daemon.env,
        registry: () => Promise.resolve(daemon.registry),
        dispatcher: upstream.dispatcher,
        now: clock.now,
        publicUrl: new URL(relay.url),
        gmailTopic: TOPIC,
      };
    }, 60_000);

    afterAll(async () => {
      await daemon.close();
      await upstream.close();
      await graph.close();
      await gmail.close();
      await new Promise((resolve) => relay.server.close(resolve));
    });

    let driveSub = '';
    let graphId = '';

    it('graph: created through the connection, after Graph validated the push URL, within its maximum, its clientState sealed', async () => {
      const res = await api('POST', `/api/v1/connections/${conns.drive}/subscriptions`, {
        resource: 'me/drive/root',
      });
      expect(res.statusCode, res.body).toBe(201);
      const body = res.json<{
        id: string;
        provider_subscription_id: string;
        expires_at: string;
        resource: string;
      }>();
      driveSub = body.id;
      graphId = body.provider_subscription_id;
      const at = graph.subscriptions.all.get(graphId);
      expect(at).toMatchObject({
        resource: 'me/drive/root',
        changeType: 'updated',
        notificationUrl: `${relay.url}/webhooks/providers/onedrive`,
      });
      // The handshake reached the daemon and was answered before the 201.
      expect(graph.subscriptions.validations).toEqual([
        { url: `${relay.url}/webhooks/providers/onedrive`, ok: true },
      ]);
      const clientState = at?.clientState ?? '';
      // At least 128 bits: 256 random bits in base64url.
      expect(clientState).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(res.body).not.toContain(clientState);
      const expiry = Date.parse(body.expires_at);
      expect(expiry).toBeGreaterThan(clock.now() + 29 * 24 * HOUR);
      expect(expiry).toBeLessThanOrEqual(clock.now() + 42_300 * 60_000);
      const row = await rowOf(driveSub);
      expect(row?.connectionId).toBe(conns.drive);
      expect(row?.clientStateEncrypted).toBeTruthy();
      expect(row?.clientStateEncrypted).not.toContain(clientState);
    });

    it('graph: the emulator refuses an expiry beyond the resource maximum, as Graph does', async () => {
      const res = await fetch(`${graph.baseUrl}/subscriptions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${graph.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          changeType: 'updated',
          notificationUrl: `${relay.url}/webhooks/providers/onedrive`,
          resource: 'me/drive/root',
          expirationDateTime: new Date(clock.now() + 42_301 * 60_000).toISOString(),
          clientState: 'x',
        }),
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('42300 minutes');
    });

    it('graph: a notification pushed by Graph verifies with the stored clientState and is recorded for the connection', async () => {
      const n = recorded.length;
      const res = await graph.subscriptions.notify(graphId, 'updated');
      expect(res.status).toBe(202);
      expect(recorded.slice(n)).toEqual([
        expect.objectContaining({
          projectId: alpha,
          connector: 'onedrive',
          connectionId: conns.drive,
          eventType: 'updated',
        }),
      ]);
    });

    it('lists the connection’s subscriptions, without their clientState', async () => {
      const res = await api('GET', `/api/v1/connections/${conns.drive}/subscriptions`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        subscriptions: [
          expect.objectContaining({ id: driveSub, connector: 'onedrive', provider_subscription_id: graphId }),
        ],
      });
      expect(res.body).not.toContain(graph.subscriptions.all.get(graphId)?.clientState ?? '?');
    });

    it('graph: not renewed far from expiry; renewed before it once the clock moved', async () => {
      const before = patches();
      clock.advance(HOUR);
      await round();
      expect(patches()).toBe(before);
      const expiresBefore = (await rowOf(driveSub))?.expiresAt.getTime() ?? 0;
      clock.advance(25 * HOUR);
      expect(await round()).toBe(true);
      expect(failures).toEqual([]);
      expect(patches()).toBe(before + 1);
      const row = await rowOf(driveSub);
      expect(row?.expiresAt.getTime()).toBeGreaterThan(expiresBefore);
      expect(Date.parse(graph.subscriptions.all.get(graphId)?.expirationDateTime ?? '')).toBe(
        row?.expiresAt.getTime(),
      );
      // Renewed: the next round leaves it.
      await round();
      expect(patches()).toBe(before + 1);
    });

    it('graph: reauthorizationRequired renews at the next round; missed is recorded for the app to resync', async () => {
      const before = patches();
      const n = recorded.length;
      expect((await graph.subscriptions.lifecycle(graphId, 'reauthorizationRequired')).status).toBe(202);
      expect((await graph.subscriptions.lifecycle(graphId, 'missed')).status).toBe(202);
      expect(recorded.slice(n).map((e) => [e.eventType, e.connectionId])).toEqual([
        ['reauthorizationRequired', conns.drive],
        ['missed', conns.drive],
      ]);
      await round();
      expect(failures).toEqual([]);
      expect(patches()).toBe(before + 1);
    });

    it('graph: subscriptionRemoved makes it again, validated, with the same clientState', async () => {
      const old = graph.subscriptions.all.get(graphId);
      graph.subscriptions.all.delete(graphId);
      if (!old) throw new Error('no subscription');
      // Graph sends subscriptionRemoved for the subscription it dropped.
      graph.subscriptions.all.set(graphId, old);
      expect((await graph.subscriptions.lifecycle(graphId, 'subscriptionRemoved')).status).toBe(202);
      graph.subscriptions.all.delete(graphId);
      await round();
      expect(failures).toEqual([]);
      const row = await rowOf(driveSub);
      expect(row?.subscriptionId).not.toBe(graphId);
      graphId = row?.subscriptionId ?? '';
      expect(graph.subscriptions.all.get(graphId)?.clientState).toBe(old.clientState);
      expect(graph.subscriptions.validations.at(-1)).toEqual({
        url: `${relay.url}/webhooks/providers/onedrive`,
        ok: true,
      });
      const n = recorded.length;
      expect((await graph.subscriptions.notify(graphId)).status).toBe(202);
      expect(recorded.slice(n)).toEqual([expect.objectContaining({ connectionId: conns.drive })]);
    });

    it('graph: deleted at Graph and here', async () => {
      const res = await api('DELETE', `/api/v1/connections/${conns.drive}/subscriptions/${driveSub}`);
      expect(res.statusCode, res.body).toBe(200);
      expect(graph.subscriptions.all.has(graphId)).toBe(false);
      expect(await rowOf(driveSub)).toBeUndefined();
      expect((await api('GET', `/api/v1/connections/${conns.drive}/subscriptions`)).json()).toEqual({
        subscriptions: [],
      });
      // Its notifications no longer verify.
      const again = await api('DELETE', `/api/v1/connections/${conns.drive}/subscriptions/${driveSub}`);
      expect(again.statusCode).toBe(404);
    });

    it('gmail: users.watch with the configured topic, its expiration stored, renewed daily, stopped on delete', async () => {
      const res = await api('POST', `/api/v1/connections/${conns.mail}/subscriptions`, {});
      expect(res.statusCode, res.body).toBe(201);
      const made = res.json<{ id: string; expires_at: string }>();
      expect(gmail.watch.current).toMatchObject({ topicName: TOPIC, labelIds: [] });
      expect(Date.parse(made.expires_at)).toBe(gmail.watch.current?.expiration);
      const calls = gmail.watch.calls;
      clock.advance(HOUR);
      await round();
      expect(gmail.watch.calls).toBe(calls);
      clock.advance(25 * HOUR);
      await round();
      expect(failures).toEqual([]);
      expect(gmail.watch.calls).toBe(calls + 1);
      expect((await rowOf(made.id))?.expiresAt.getTime()).toBe(gmail.watch.current?.expiration);
      const gone = await api('DELETE', `/api/v1/connections/${conns.mail}/subscriptions/${made.id}`);
      expect(gone.statusCode, gone.body).toBe(200);
      expect(gmail.watch.stops).toBe(1);
      expect(gmail.watch.current).toBeUndefined();
    });

    it('gmail: refused clearly when no topic is configured, and nothing is stored', async () => {
      await expect(
        createSubscription({ ...deps, gmailTopic: undefined }, alpha, conns.mail ?? '', undefined),
      ).rejects.toThrow(/CONNECTR_GMAIL_PUSH_TOPIC|topic/);
      expect((await api('GET', `/api/v1/connections/${conns.mail}/subscriptions`)).json()).toEqual({
        subscriptions: [],
      });
    });

    it('graph: refused without a public URL for Graph to reach, before anything is sent', async () => {
      const before = graph.graph.requests.length;
      await expect(
        createSubscription({ ...deps, publicUrl: undefined }, alpha, conns.drive ?? '', 'me/drive/root'),
      ).rejects.toThrow(
        expect.objectContaining({ code: 'conflict', hint: expect.stringMatching(/--public-url/) as unknown }),
      );
      expect(graph.graph.requests.length).toBe(before);
    });

    it('hostile inputs: unknown and other projects’ connections, bad resources, connectors without subscriptions', async () => {
      const base = `/api/v1/connections/${conns.drive}/subscriptions`;
      const before = graph.graph.requests.length;
      for (const id of ['conn_nope', conns.theirs ?? '']) {
        for (const [method, url] of [
          ['POST', `/api/v1/connections/${id}/subscriptions`],
          ['GET', `/api/v1/connections/${id}/subscriptions`],
          ['DELETE', `/api/v1/connections/${id}/subscriptions/sub_abc`],
        ] as const) {
          const res = await api(method, url, method === 'POST' ? { resource: 'me/drive/root' } : undefined);
          expect(res.statusCode, `${method} ${url}`).toBe(404);
          expect(res.json()).toMatchObject({ error: { code: 'not_found' } });
        }
      }
      for (const resource of ['me/drive/root\r\nX-Injected: 1', 'me/\u0000drive', 'x'.repeat(5000), '']) {
        const res = await api('POST', base, { resource });
        expect(res.statusCode).toBe(400);
        expect(res.json()).toMatchObject({ error: { code: 'invalid_input' } });
      }
      expect((await api('POST', base, { resource: 'me/drive/root', extra: 1 })).statusCode).toBe(400);
      expect((await api('POST', base, {})).json()).toMatchObject({ error: { code: 'invalid_input' } });
      const dbx = await api('POST', `/api/v1/connections/${conns.dropbox}/subscriptions`, { resource: 'x' });
      expect(dbx.statusCode).toBe(400);
      expect(dbx.json<{ error: { message: string } }>().error.message).toContain(
        'dropbox has no subscriptions',
      );
      expect((await api('DELETE', `${base}/..%2Fx`)).statusCode).toBe(400);
      expect((await api('DELETE', `${base}/sub_unknown`)).statusCode).toBe(404);
      // Nothing reached Graph.
      expect(graph.graph.requests.length).toBe(before);
    });

    it('the renewal task runs on its interval (ms in tests); on PostgreSQL, a second instance’s own task', async () => {
      const res = await api('POST', `/api/v1/connections/${conns.drive}/subscriptions`, {
        resource: 'me/drive/root',
      });
      expect(res.statusCode, res.body).toBe(201);
      const waitForPatch = async (before: number) => {
        const deadline = Date.now() + 5000;
        while (patches() === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(patches()).toBe(before + 1);
      };
      let before = patches();
      clock.advance(25 * HOUR);
      const stop = startSubscriptionTask(deps, 20, {
        onError: (e) => failures.push(e),
        onFailure: (_s, e) => failures.push(e),
      });
      try {
        await waitForPatch(before);
      } finally {
        await stop();
      }
      expect(failures).toEqual([]);
      // PGlite has one process; on PostgreSQL the app built by buildApp starts the task itself.
      if (variant.name !== 'postgres') return;
      before = patches();
      clock.advance(25 * HOUR);
      await daemon.another({ app: { publicUrl: relay.url, subscriptionEveryMs: 20, healthEveryMs: 0 } });
      await waitForPatch(before);
    });
  });
}
