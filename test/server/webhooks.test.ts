import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppOptions } from '../../src/server/app.js';
import { purgeEvents } from '../../src/server/store/webhooks.js';
import { scaledSchedule } from '../../src/server/webhooks/schedule.js';
import { KEEP_EVENTS_MS } from '../../src/server/webhooks/worker.js';
import { startGmailEmulator } from '../fixtures/emulators/gmail.js';
import type { GmailEmulator } from '../fixtures/emulators/gmail.js';
import { gmailServerEnv, startAuthServer } from '../helpers/oauth-server.js';
import type { TestAuthServer } from '../helpers/oauth-server.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';
import { LogCapture, callApi, withServer } from '../helpers/server.js';
import type { ApiAnswer, TestDaemon } from '../helpers/server.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import type { Delivery, Receiver } from '../helpers/webhook-receiver.js';

/**
 * Outgoing webhooks end to end on PGlite and PostgreSQL: the daemon on a real socket, a
 * receiver on 127.0.0.1 verifying every delivery with the official `standardwebhooks` library,
 * and refreshes at a real OAuth server. The retry schedule is scaled a thousandfold (5 s -> 5 ms)
 * so that retries happen within the test.
 */

const WEBHOOKS: AppOptions['webhooks'] = { schedule: scaledSchedule(0.001), pollMs: 50, timeoutMs: 400 };

const ALL_TYPES = [
  'connection.created',
  'connection.signed_in',
  'connection.needs_reauth',
  'connection.restored',
  'connection.deleted',
  'provider.event',
];

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`webhooks on ${variantTitle(variant)}`, () => {
    let daemon: TestDaemon;
    let auth: TestAuthServer;
    let gmail: GmailEmulator;
    let metricsKey: string;
    const logs = new LogCapture();
    const receivers: Receiver[] = [];
    const secretsSeen: string[] = [];
    let refuseRefresh = false;
    let projects = 0;

    beforeAll(async () => {
      auth = await startAuthServer();
      auth.server.service.on(
        'beforeResponse',
        (response: { statusCode: number; body: Record<string, unknown> }) => {
          if (!refuseRefresh) return;
          response.statusCode = 400;
          response.body = { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' };
        },
      );
      gmail = await startGmailEmulator({ acceptToken: () => true });
      daemon = await withServer({
        backend: variant,
        env: gmailServerEnv(auth, gmail.url),
        logs,
        logLevel: 'trace',
        listen: true,
        app: { webhooks: WEBHOOKS },
      });
      metricsKey = await daemon.key(await daemon.project('default'), { scope: 'metrics' });
    }, 60_000);

    afterAll(async () => {
      await daemon.close();
      for (const r of receivers) await r.close();
      await gmail.close();
      await auth.stop();
      expect(logs.text).not.toContain('a pass failed');
      // Secrets never reach the log, whatever happened.
      for (const secret of secretsSeen) expect(logs.text).not.toContain(secret);
      expect(logs.text).not.toMatch(/whsec_/);
    });

    /** A project of its own (its endpoints see only its events) and its key. */
    async function freshProject(): Promise<{ key: string; call: Call }> {
      const id = await daemon.project(`p${++projects}`);
      const key = await daemon.key(id);
      return { key, call: (method, path, body) => callApi(daemon.base, method, path, key, body) };
    }

    type Call = (method: string, path: string, body?: unknown) => Promise<ApiAnswer>;

    async function receiver(): Promise<Receiver> {
      const r = await startReceiver();
      receivers.push(r);
      return r;
    }

    /** An endpoint to `r`, whose secret `r` verifies with. */
    async function endpoint(call: Call, r: Receiver, extra: Record<string, unknown> = {}): Promise<string> {
      const made = await call('POST', '/api/v1/webhooks', { url: r.url, ...extra });
      expect(made.status, made.text).toBe(201);
      const secret = made.json.secret as string;
      secretsSeen.push(secret);
      r.secrets.push(secret);
      return made.json.id as string;
    }

    async function connection(call: Call, name = 'mailbox'): Promise<string> {
      const made = await call('POST', '/api/v1/connections', { connector_type: 'gmail', name });
      expect(made.status, made.text).toBe(201);
      return made.json.id as string;
    }

    /** The endpoint's deliveries once none is pending: an outcome is recorded just after the receiver answered. */
    async function settled(call: Call, hook: string): Promise<Record<string, unknown>[]> {
      const until = Date.now() + 10_000;
      for (;;) {
        const answer = await call('GET', `/api/v1/webhooks/${hook}/deliveries`);
        expect(answer.status).toBe(200);
        const rows = answer.json.deliveries as Record<string, unknown>[];
        if (rows.every((row) => row.state !== 'pending') || Date.now() > until) return rows;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    const ofConnection = (deliveries: Delivery[], id: string): string[] =>
      deliveries.filter((d) => d.data.id === id).map((d) => d.type);

    it('manages endpoints: the secret shown once, events default to all, another project sees none', async () => {
      const { call, key } = await freshProject();
      const made = await call('POST', '/api/v1/webhooks', {
        url: 'https://hooks.example.com/connectr?x=1',
        description: 'orders app',
      });
      expect(made.status).toBe(201);
      const secret = made.json.secret as string;
      secretsSeen.push(secret);
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      const bytes = Buffer.from(secret.slice('whsec_'.length), 'base64').length;
      expect(bytes).toBeGreaterThanOrEqual(24);
      expect(bytes).toBeLessThanOrEqual(64);
      expect(made.json).toMatchObject({
        id: expect.stringMatching(/^wh_/) as unknown,
        url: 'https://hooks.example.com/connectr?x=1',
        events: ALL_TYPES,
        description: 'orders app',
        disabled: false,
      });
      const id = made.json.id as string;
      const list = await call('GET', '/api/v1/webhooks');
      expect(list.status).toBe(200);
      expect(list.json.webhooks).toEqual([expect.objectContaining({ id })]);
      const shown = await call('GET', `/api/v1/webhooks/${id}`);
      expect(shown.status).toBe(200);
      for (const answer of [list, shown]) {
        expect(answer.text).not.toContain(secret);
        expect(answer.text).not.toContain('secret');
      }
      const patched = await call('PATCH', `/api/v1/webhooks/${id}`, {
        events: ['connection.needs_reauth', 'connection.restored'],
        description: null,
      });
      expect(patched.status, patched.text).toBe(200);
      expect(patched.json).toMatchObject({
        events: ['connection.needs_reauth', 'connection.restored'],
        description: null,
        url: 'https://hooks.example.com/connectr?x=1',
      });
      expect(patched.text).not.toContain(secret);

      const other = await freshProject();
      for (const [method, path] of [
        ['GET', `/api/v1/webhooks/${id}`],
        ['PATCH', `/api/v1/webhooks/${id}`],
        ['DELETE', `/api/v1/webhooks/${id}`],
        ['POST', `/api/v1/webhooks/${id}/rotate-secret`],
        ['POST', `/api/v1/webhooks/${id}/test`],
        ['GET', `/api/v1/webhooks/${id}/deliveries`],
      ] as const) {
        const answer = await other.call(method, path, method === 'PATCH' ? { description: 'x' } : undefined);
        expect(answer.status, `${method} ${path}`).toBe(404);
        expect(answer.json).toMatchObject({ error: { code: 'not_found' } });
      }
      expect((await other.call('GET', '/api/v1/webhooks')).json).toEqual({ webhooks: [] });
      expect((await callApi(daemon.base, 'GET', '/api/v1/webhooks', undefined)).status).toBe(401);

      const deleted = await call('DELETE', `/api/v1/webhooks/${id}`);
      expect(deleted.json).toEqual({ deleted: true });
      expect((await call('GET', `/api/v1/webhooks/${id}`)).status).toBe(404);
      expect(key).not.toBe('');
    });

    it('refuses hostile URLs and fields with a 400 in the envelope, on create and on patch', async () => {
      const { call } = await freshProject();
      const hostile = [
        'http://hooks.example.com/x',
        'http://10.0.0.1/x',
        'http://127.0.0.1.evil.example/x',
        'ftp://127.0.0.1/x',
        'file:///etc/passwd',
        'javascript:alert(1)',
        'https://user:password@hooks.example.com/x',
        'https://:password@hooks.example.com/x',
        'https://hooks.example.com/x#frag',
        'https://hooks.example.com/x\r\nX-Injected: 1',
        'https://hooks.example.com/\u0000',
        `https://hooks.example.com/${'a'.repeat(5000)}`,
        'not a url',
        '',
        '//hooks.example.com/x',
      ];
      for (const url of hostile) {
        const answer = await call('POST', '/api/v1/webhooks', { url });
        expect(answer.status, url.slice(0, 80)).toBe(400);
        expect(answer.json).toMatchObject({ error: { code: 'invalid_input' } });
      }
      for (const body of [
        { url: 'https://hooks.example.com/x', events: ['connection.bogus'] },
        { url: 'https://hooks.example.com/x', events: 'connection.created' },
        { url: 'https://hooks.example.com/x', secret: 'whsec_mine' },
        { url: 'https://hooks.example.com/x', description: 'a\u0007b' },
        { url: 'https://hooks.example.com/x', description: 'x'.repeat(501) },
        { url: 'https://hooks.example.com/x', __proto__: { polluted: true }, constructor: 1 },
        { url: ['https://hooks.example.com/x'] },
      ]) {
        const answer = await call('POST', '/api/v1/webhooks', body);
        expect(answer.status, JSON.stringify(body)).toBe(400);
      }
      for (const url of [
        'http://127.0.0.1:1/x',
        'http://[::1]:8080/x',
        'http://localhost/x',
        'https://10.0.0.1/x',
      ]) {
        const answer = await call('POST', '/api/v1/webhooks', { url });
        expect(answer.status, url).toBe(201);
        secretsSeen.push(answer.json.secret as string);
      }
      const id = ((await call('GET', '/api/v1/webhooks')).json.webhooks as { id: string }[])[0]?.id ?? '';
      for (const url of hostile) {
        const answer = await call('PATCH', `/api/v1/webhooks/${id}`, { url });
        expect(answer.status, url.slice(0, 80)).toBe(400);
      }
      for (const bad of ['../x', 'wh_ABC', `wh_${'a'.repeat(100)}`, 'wh_a%00']) {
        const answer = await call('GET', `/api/v1/webhooks/${bad}`);
        expect([400, 404], bad).toContain(answer.status);
        expect(answer.json).toHaveProperty('error');
      }
    });

    it('delivers each event type signed, verified by the standard library, with the connection as GET shows it', async () => {
      const { call } = await freshProject();
      const r = await receiver();
      const hook = await endpoint(call, r);
      const id = await connection(call);
      const stored = await call('PUT', `/api/v1/connections/${id}/credentials`, {
        access_token: 'access-secret-value',
        refresh_token: 'refresh-secret-value',
        expires_in: 3600,
        account: 'ada@example.com',
      });
      expect(stored.status, stored.text).toBe(200);
      const shownAfterSignIn = (await call('GET', `/api/v1/connections/${id}`)).json;
      const test = await call('POST', `/api/v1/webhooks/${hook}/test`);
      expect(test.status).toBe(202);
      expect(test.json.event_id).toMatch(/^msg_/);
      expect((await call('DELETE', `/api/v1/connections/${id}`)).status).toBe(200);
      const got = await r.waitFor((a) => a.length >= 4);
      expect(got.map((d) => d.type).sort()).toEqual(
        ['connection.created', 'connection.deleted', 'connection.signed_in', 'webhook.test'].sort(),
      );
      expect(ofConnection(got, id)).toEqual([
        'connection.created',
        'connection.signed_in',
        'connection.deleted',
      ]);
      for (const d of r.requests) {
        expect(d.verifiedWith).toEqual([0]);
        expect(d.method).toBe('POST');
        expect(d.id).toMatch(/^msg_[a-z2-7]+$/);
        expect(Math.abs(Number(d.timestamp) - Date.now() / 1000)).toBeLessThan(30);
        expect(d.body).not.toContain('secret-value');
        const body = JSON.parse(d.body) as Record<string, unknown>;
        expect(Object.keys(body)).toEqual(['type', 'timestamp', 'data']);
        expect(new Date(body.timestamp as string).toISOString()).toBe(body.timestamp);
      }
      const signedIn = got.find((d) => d.type === 'connection.signed_in');
      expect(signedIn?.data).toEqual(shownAfterSignIn);
      expect(got.find((d) => d.type === 'connection.created')?.data).toMatchObject({ id, status: 'pending' });
      expect(got.find((d) => d.type === 'webhook.test')?.id).toBe(test.json.event_id);
      const rows = await settled(call, hook);
      expect(rows).toHaveLength(4);
      for (const row of rows)
        expect(row).toMatchObject({
          state: 'delivered',
          attempts: 1,
          last_status: 204,
          next_attempt_at: null,
        });
    });

    it('gives exactly one connection.needs_reauth when refreshes start failing with invalid_grant, then signed_in and restored on a new sign-in', async () => {
      const { call } = await freshProject();
      const r = await receiver();
      await endpoint(call, r);
      const id = await connection(call);
      await call('PUT', `/api/v1/connections/${id}/credentials`, {
        access_token: 'old-access',
        refresh_token: 'old-refresh',
        expires_at: new Date(Date.now() - 60_000).toISOString(),
      });
      refuseRefresh = true;
      try {
        const calls = await Promise.all(
          [1, 2, 3].map(() =>
            call('POST', '/api/v1/proxy/execute', { connection_id: id, endpoint: 'get_profile' }),
          ),
        );
        for (const answer of calls) expect(answer.status, answer.text).toBe(409);
        const again = await call('POST', '/api/v1/proxy/execute', {
          connection_id: id,
          endpoint: 'get_profile',
        });
        expect(again.status).toBe(409);
      } finally {
        refuseRefresh = false;
      }
      await r.waitFor((a) => ofConnection(a, id).includes('connection.needs_reauth'));
      const resigned = await call('PUT', `/api/v1/connections/${id}/credentials`, {
        access_token: 'new-access',
        refresh_token: 'new-refresh',
        expires_in: 3600,
      });
      expect(resigned.status).toBe(200);
      const got = await r.waitFor((a) => ofConnection(a, id).includes('connection.restored'));
      expect(ofConnection(got, id)).toEqual([
        'connection.created',
        'connection.signed_in',
        'connection.needs_reauth',
        'connection.signed_in',
        'connection.restored',
      ]);
      const reauth = got.find((d) => d.type === 'connection.needs_reauth');
      expect(reauth?.data).toMatchObject({
        id,
        status: 'needs_reauth',
        reason: { code: 'refresh_rejected', message: expect.stringContaining('invalid_grant') as unknown },
      });
      expect(got.find((d) => d.type === 'connection.restored')?.data).toMatchObject({ id, status: 'active' });
      for (const d of r.requests) expect(d.body).not.toMatch(/old-refresh|new-refresh|new-access|old-access/);
    });

    it('holds deliveries while the receiver is down and delivers everything once it is back, in order per connection', async () => {
      const { call } = await freshProject();
      const r = await receiver();
      const hook = await endpoint(call, r);
      r.mode = 'fail';
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push(await connection(call, `c${i}`));
      for (const id of ids)
        await call('PUT', `/api/v1/connections/${id}/credentials`, {
          access_token: `a-${id}`,
          expires_in: 3600,
        });
      for (const id of ids) await call('DELETE', `/api/v1/connections/${id}`);
      // Down for several attempts.
      const until = Date.now() + 10_000;
      while (r.requests.length < 6 && Date.now() < until)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(r.requests.length).toBeGreaterThanOrEqual(6);
      // Only each connection's first event was tried: the later ones wait for it.
      for (const d of r.requests) expect(d.type).toBe('connection.created');
      r.mode = 'ok';
      const got = await r.waitFor((a) => a.length >= 9, 20_000);
      for (const id of ids)
        expect(ofConnection(got, id)).toEqual([
          'connection.created',
          'connection.signed_in',
          'connection.deleted',
        ]);
      expect(new Set(got.map((d) => d.id)).size).toBe(9);
      const rows = (await settled(call, hook)) as { state: string; attempts: number; type: string }[];
      expect(rows.every((d) => d.state === 'delivered')).toBe(true);
      expect(rows.filter((d) => d.type === 'connection.created').every((d) => d.attempts > 1)).toBe(true);
    });

    it('purges events older than a week that no endpoint waits for; pending ones stay', async () => {
      const { call } = await freshProject();
      const r = await receiver();
      const hook = await endpoint(call, r);
      const delivered = (await call('POST', `/api/v1/webhooks/${hook}/test`)).json.event_id as string;
      await r.waitFor((a) => a.length === 1);
      await settled(call, hook);
      r.mode = 'fail';
      const waiting = (await call('POST', `/api/v1/webhooks/${hook}/test`)).json.event_id as string;
      const ids = async () =>
        (
          (await call('GET', `/api/v1/webhooks/${hook}/deliveries`)).json.deliveries as { event_id: string }[]
        ).map((d) => d.event_id);
      expect(await purgeEvents(daemon.store.db, new Date(Date.now() - KEEP_EVENTS_MS))).toBe(0);
      expect((await ids()).sort()).toEqual([delivered, waiting].sort());
      await purgeEvents(daemon.store.db, new Date(Date.now() + 1000));
      expect(await ids()).toEqual([waiting]);
      expect((await call('POST', `/api/v1/webhooks/${hook}/deliveries/${delivered}/redeliver`)).status).toBe(
        404,
      );
    });

    it('redelivers an event with the same webhook-id; an unknown event is a 404', async () => {
      const { call } = await freshProject();
      const r = await receiver();
      const hook = await endpoint(call, r);
      const eventId = (await call('POST', `/api/v1/webhooks/${hook}/test`)).json.event_id as string;
      await r.waitFor((a) => a.length === 1);
      const again = await call('POST', `/api/v1/webhooks/${hook}/deliveries/${eventId}/redeliver`);
      expect(again.status, again.text).toBe(202);
      expect(again.json).toMatchObject({ event_id: eventId, type: 'webhook.test', state: 'pending' });
      const got = await r.waitFor((a) => a.length === 2);
      expect(got.map((d) => d.id)).toEqual([eventId, eventId]);
      expect(got[1]?.body).toBe(got[0]?.body);
      const unknown = await call('POST', `/api/v1/webhooks/${hook}/deliveries/msg_nosuchevent/redeliver`);
      expect(unknown.status).toBe(404);
      const other = await freshProject();
      expect(
        (await other.call('POST', `/api/v1/webhooks/${hook}/deliveries/${eventId}/redeliver`)).status,
      ).toBe(404);
    });

    it('signs with both secrets for the overlap after a rotation; each verifies on its own', async () => {
      const { call } = await freshProject();
      const r = await receiver();
      const hook = await endpoint(call, r);
      const rotated = await call('POST', `/api/v1/webhooks/${hook}/rotate-secret`);
      expect(rotated.status).toBe(200);
      const fresh = rotated.json.secret as string;
      secretsSeen.push(fresh);
      expect(fresh).toMatch(/^whsec_/);
      expect(fresh).not.toBe(r.secrets[0]);
      r.secrets.push(fresh);
      await call('POST', `/api/v1/webhooks/${hook}/test`);
      const [d] = await r.waitFor((a) => a.length === 1);
      expect(d?.verifiedWith).toEqual([0, 1]);
      expect(d?.signature.split(' ')).toHaveLength(2);
      // A receiver that knows only the new secret verifies it too.
      r.secrets = [fresh];
      await call('POST', `/api/v1/webhooks/${hook}/test`);
      await r.waitFor((a) => a.length === 2);
    });

    it('does not follow a redirect (a failure), gives up waiting on a slow receiver, and disables an endpoint on 410', async () => {
      const { call } = await freshProject();
      const r = await receiver();
      const hook = await endpoint(call, r);
      /** A new webhook.test event's delivery, once `check` holds of it. */
      const testDelivery = async (
        check: (d: Record<string, unknown>) => boolean,
      ): Promise<Record<string, unknown>> => {
        const eventId = (await call('POST', `/api/v1/webhooks/${hook}/test`)).json.event_id as string;
        const until = Date.now() + 10_000;
        for (;;) {
          const rows = (await call('GET', `/api/v1/webhooks/${hook}/deliveries`)).json.deliveries as Record<
            string,
            unknown
          >[];
          const d = rows.find((row) => row.event_id === eventId) ?? {};
          if (check(d)) return d;
          if (Date.now() > until) throw new Error(`delivery never matched: ${JSON.stringify(d)}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };

      r.mode = 'redirect';
      const redirected = await testDelivery((d) => d.last_status === 302);
      expect(redirected).toMatchObject({
        state: 'pending',
        last_error: expect.stringContaining('redirect') as unknown,
      });
      expect(r.requests.every((d) => d.path === '/hooks')).toBe(true);

      r.mode = 'slow';
      const timedOut = await testDelivery(
        (d) => typeof d.last_error === 'string' && d.last_error.includes('no answer'),
      );
      expect(timedOut).toMatchObject({ state: 'pending', last_status: null });
      expect(timedOut.last_error).toContain('400 ms');
      expect(timedOut.last_latency_ms).toBeGreaterThanOrEqual(390);

      // 410 Gone, on an endpoint of its own (the events above are still being retried).
      const gone = await freshProject();
      const g = await receiver();
      g.mode = 'gone';
      const goneHook = await endpoint(gone.call, g);
      await connection(gone.call);
      const until = Date.now() + 10_000;
      let shown = await gone.call('GET', `/api/v1/webhooks/${goneHook}`);
      while (shown.json.disabled !== true && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        shown = await gone.call('GET', `/api/v1/webhooks/${goneHook}`);
      }
      expect(shown.json).toMatchObject({
        disabled: true,
        disabled_reason: expect.stringContaining('410') as unknown,
      });
      expect(g.requests).toHaveLength(1);
      const [goneDelivery] = (await gone.call('GET', `/api/v1/webhooks/${goneHook}/deliveries`)).json
        .deliveries as Record<string, unknown>[];
      expect(goneDelivery).toMatchObject({ state: 'failed', last_status: 410, attempts: 1 });
      // Disabled: nothing more is sent to it, not even new events.
      g.mode = 'ok';
      await connection(gone.call);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(g.requests).toHaveLength(1);
      const enabled = await gone.call('PATCH', `/api/v1/webhooks/${goneHook}`, { disabled: false });
      expect(enabled.json).toMatchObject({ disabled: false, disabled_reason: null });
      const third = await connection(gone.call);
      const got = await g.waitFor((a) => a.length === 1);
      expect(got[0]?.data.id).toBe(third);

      const metrics = await callApi(daemon.base, 'GET', '/metrics', metricsKey);
      expect(metrics.text).toMatch(/^connectr_webhook_deliveries_total\{result="success"\} \d+$/m);
      expect(metrics.text).toMatch(/^connectr_webhook_deliveries_total\{result="failure"\} \d+$/m);
      expect(metrics.text).toMatch(/^connectr_webhook_deliveries_total\{result="gone"\} \d+$/m);
      expect(metrics.text).toMatch(/^connectr_webhook_oldest_undelivered_seconds \d+(\.\d+)?$/m);
    });

    // PGlite is one process's database: a second instance is a PostgreSQL set-up.
    it.skipIf(variant.name === 'pglite')(
      'with two instances on one database, each attempt is made by one of them',
      async () => {
        const { call, key } = await freshProject();
        const second = await daemon.another({ listen: true, app: { webhooks: WEBHOOKS } });
        const r = await receiver();
        const hook = await endpoint(call, r);
        r.mode = 'fail';
        const ids: string[] = [];
        for (let i = 0; i < 6; i++) {
          const base = i % 2 === 0 ? daemon.base : second.base;
          const made = await callApi(base, 'POST', '/api/v1/connections', key, {
            connector_type: 'gmail',
            name: `n${i}`,
          });
          ids.push(made.json.id as string);
        }
        const until = Date.now() + 10_000;
        while (r.requests.length < 12 && Date.now() < until)
          await new Promise((resolve) => setTimeout(resolve, 20));
        r.mode = 'ok';
        await r.waitFor((a) => a.length >= 6);
        const rows = (await settled(call, hook)) as { event_id: string; attempts: number; state: string }[];
        expect(rows).toHaveLength(6);
        for (const row of rows) {
          expect(row.state).toBe('delivered');
          // Every attempt counted once reached the receiver once: no instance made another's attempt.
          expect(r.requests.filter((d) => d.id === row.event_id)).toHaveLength(row.attempts);
        }
        expect(r.accepted()).toHaveLength(6);
      },
    );
  });
}
