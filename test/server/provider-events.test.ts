import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/server/store/db.js';
import { updateConnection } from '../../src/server/store/connections.js';
import { putSubscription } from '../../src/server/store/provider-subscriptions.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import type { ProviderEvent } from '../../src/server/webhooks/provider-event.js';
import { dropboxChallenge, dropboxNotification } from '../fixtures/emulators/dropbox.js';
import { githubDelivery } from '../fixtures/emulators/github.js';
import { gmailPubSubPush } from '../fixtures/emulators/gmail.js';
import { graphNotifications, graphValidation } from '../fixtures/emulators/graph.js';
import { deliver } from '../fixtures/emulators/push.js';
import { slackEventCallback, slackRequest, slackUrlVerification } from '../fixtures/emulators/slack.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * Providers' pushes to /webhooks/providers/{connector}, on the real store (PGlite, and real
 * PostgreSQL where it exists), sent over a socket as each provider sends them (the emulators):
 * the handshake, a signed event recorded once per connection it concerns (what
 * recordProviderEvent was given), wrongly signed, replayed and unattributable pushes, and the
 * refusals counted in /metrics. Forwarding to the app is in provider-events-forwarding*.test.ts.
 */

const SECRETS = {
  dropbox: 'dropbox-APP-secret-1',
  slack: 'slack-SIGNING-secret-2',
  github: 'github-WEBHOOK-secret-3',
  gmail: 'gmail-PUSH-token-4',
} as const;
const CLIENT_STATE = 'graph-CLIENT-state-5';

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`provider pushes on ${variantTitle(variant)}`, () => {
    let daemon: TestDaemon;
    let store: OpenedServerStore;
    let clock = Date.UTC(2026, 11, 7, 12, 0, 0);
    const recorded: ProviderEvent[] = [];
    const conns: Record<string, string> = {};
    let alpha = '';
    let beta = '';
    let metricsKey = '';
    const push = (p: Parameters<typeof deliver>[1]) => deliver(daemon.base, p);
    const since = (n: number) => recorded.slice(n);

    beforeAll(async () => {
      daemon = await withServer({
        backend: variant,
        listen: true,
        now: () => clock,
        providerEvents: {
          record: (_tx: Db, event: ProviderEvent) => {
            recorded.push(event);
            return Promise.resolve(true);
          },
        },
      });
      store = daemon.store;
      alpha = await daemon.project('alpha');
      beta = await daemon.project('beta');
      const key = await daemon.key(alpha, { name: 'a' });
      metricsKey = await daemon.key(alpha, { name: 'scraper', scope: 'metrics' });
      for (const [connector, secret] of Object.entries(SECRETS)) {
        const res = await daemon.app.inject({
          method: 'PUT',
          url: `/api/v1/oauth-apps/${connector}`,
          headers: { authorization: `Bearer ${key}` },
          payload: {
            client_id: `${connector}-client`,
            client_secret: 'client-secret',
            webhook_secret: secret,
          },
        });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json()).toMatchObject({ has_webhook_secret: true });
        expect(res.body).not.toContain(secret);
      }
      const made = async (
        name: string,
        projectId: string,
        connector: string,
        patch: Parameters<typeof updateConnection>[3],
      ) => {
        conns[name] = await daemon.connection(projectId, { connector, name });
        await updateConnection(store.db, projectId, conns[name], { status: 'active', ...patch });
      };
      await made('dbxA', alpha, 'dropbox', { accountIdentity: 'a@example.com', providerAccountId: 'dbid:A' });
      await made('dbxB', alpha, 'dropbox', { accountIdentity: 'b@example.com', providerAccountId: 'dbid:B' });
      // Another project's connection to the same account: its project set no secret, so it gets nothing.
      await made('dbxOther', beta, 'dropbox', { providerAccountId: 'dbid:A' });
      await made('slack', alpha, 'slack', { providerAccountId: 'T1' });
      await made('github', alpha, 'github', { accountIdentity: 'octo', providerAccountId: '7' });
      await made('gmail', alpha, 'gmail', { accountIdentity: 'user@example.com' });
      await made('outlook', alpha, 'outlook', { accountIdentity: 'u@contoso.com' });
      await putSubscription(store.db, store.keys, {
        projectId: alpha,
        connectionId: conns.outlook ?? '',
        connector: 'outlook',
        subscriptionId: '7f105c7d-2dc5-4530-97cd-4e7ae6534c07',
        resource: 'me/mailFolders/inbox/messages',
        clientState: CLIENT_STATE,
        expiresAt: new Date(clock + 3600_000),
      });
    }, 60_000);

    afterAll(() => daemon.close());

    it('answers 404 in the envelope for an unknown connector and one without webhooks, with no API key asked', async () => {
      for (const path of ['/webhooks/providers/nope', '/webhooks/providers/gcal']) {
        const res = await push({
          method: 'POST',
          path,
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        expect(res.status).toBe(404);
        expect(JSON.parse(res.text)).toMatchObject({ error: { code: 'not_found' } });
      }
    });

    it('dropbox: the challenge echoed as text/plain, nosniff', async () => {
      const res = await push(dropboxChallenge('/webhooks/providers/dropbox', 'c0ffee-CHALLENGE'));
      expect(res.status).toBe(200);
      expect(res.text).toBe('c0ffee-CHALLENGE');
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('dropbox: one signed notification of two accounts recorded once per connection, in the project that signed', async () => {
      const n = recorded.length;
      const res = await push(
        dropboxNotification('/webhooks/providers/dropbox', SECRETS.dropbox, ['dbid:A', 'dbid:B']),
      );
      expect(res.status).toBe(200);
      expect(since(n)).toEqual([
        expect.objectContaining({
          projectId: alpha,
          connector: 'dropbox',
          connectionId: conns.dbxA,
          eventType: 'list_folder',
        }),
        expect.objectContaining({
          projectId: alpha,
          connector: 'dropbox',
          connectionId: conns.dbxB,
          eventType: 'list_folder',
        }),
      ]);
      expect(since(n)[0]?.payload).toMatchObject({ list_folder: { accounts: ['dbid:A', 'dbid:B'] } });
    });

    it('dropbox: an unattributable account recorded once without a connection; a wrong signature refused and counted', async () => {
      let n = recorded.length;
      expect(
        (await push(dropboxNotification('/webhooks/providers/dropbox', SECRETS.dropbox, ['dbid:Z']))).status,
      ).toBe(200);
      expect(since(n)).toEqual([expect.objectContaining({ projectId: alpha, connectionId: null })]);
      n = recorded.length;
      const forged = await push(
        dropboxNotification('/webhooks/providers/dropbox', 'not-the-secret', ['dbid:A']),
      );
      expect(forged.status).toBe(403);
      expect(JSON.parse(forged.text)).toMatchObject({ error: { code: 'forbidden' } });
      const tampered = dropboxNotification('/webhooks/providers/dropbox', SECRETS.dropbox, ['dbid:A']);
      expect((await push({ ...tampered, body: tampered.body?.replace('dbid:A', 'dbid:B') })).status).toBe(
        403,
      );
      expect(since(n)).toEqual([]);
      const metrics = await daemon.app.inject({
        url: '/metrics',
        headers: { authorization: `Bearer ${metricsKey}` },
      });
      expect(metrics.body).toContain(
        'connectr_provider_events_refused_total{connector="dropbox",reason="bad_signature"} 2',
      );
    });

    it('slack: the signed url_verification answered; an event recorded for its team; a replay refused', async () => {
      const path = '/webhooks/providers/slack';
      const verification = await push(
        slackRequest(path, SECRETS.slack, slackUrlVerification('3eZbrw1a'), clock / 1000),
      );
      expect([verification.status, verification.text]).toEqual([200, '3eZbrw1a']);
      const n = recorded.length;
      const event = slackRequest(
        path,
        SECRETS.slack,
        slackEventCallback(['T1'], 'Ev0PV52K21'),
        clock / 1000 - 10,
      );
      expect((await push(event)).status).toBe(200);
      expect(since(n)).toEqual([
        expect.objectContaining({ projectId: alpha, connectionId: conns.slack, eventType: 'message' }),
      ]);
      expect(since(n)[0]?.dedupeKey).toContain('Ev0PV52K21');
      clock += 6 * 60_000;
      try {
        const replay = await push(event);
        expect(replay.status).toBe(403);
        expect(since(n)).toHaveLength(1);
      } finally {
        clock -= 6 * 60_000;
      }
      expect(
        (await push(slackRequest(path, 'wrong', slackEventCallback(['T1'], 'Ev2'), clock / 1000))).status,
      ).toBe(403);
    });

    it('github: a signed ping answered; an event recorded by its sender with its delivery id; unsigned refused 401', async () => {
      const path = '/webhooks/providers/github';
      const ping = await push(
        githubDelivery(path, SECRETS.github, 'ping', { zen: 'Design for failure.', hook_id: 1 }),
      );
      expect(ping.status).toBe(200);
      const n = recorded.length;
      const payload = { action: 'opened', issue: { number: 1 }, sender: { id: 7, login: 'octo' } };
      const delivery = githubDelivery(
        path,
        SECRETS.github,
        'issues',
        payload,
        '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      );
      expect((await push(delivery)).status).toBe(200);
      expect(since(n)).toEqual([
        expect.objectContaining({ connectionId: conns.github, eventType: 'issues', payload }),
      ]);
      expect(since(n)[0]?.dedupeKey).toContain('72d3162e-cc78-11e3-81ab-4c9367dc0958');
      const { 'x-hub-signature-256': _dropped, ...unsigned } = delivery.headers;
      expect((await push({ ...delivery, headers: unsigned })).status).toBe(401);
    });

    it('graph: the validationToken echoed; a notification with our clientState recorded for the subscription, a forged one refused', async () => {
      const path = '/webhooks/providers/outlook';
      const validation = await push(
        graphValidation(path, 'Validation: Testing client application reachability'),
      );
      expect([validation.status, validation.text]).toEqual([
        200,
        'Validation: Testing client application reachability',
      ]);
      const n = recorded.length;
      const id = '7f105c7d-2dc5-4530-97cd-4e7ae6534c07';
      const ok = await push(
        graphNotifications(path, [
          { subscriptionId: id, clientState: CLIENT_STATE },
          { subscriptionId: id, clientState: CLIENT_STATE, lifecycleEvent: 'reauthorizationRequired' },
        ]),
      );
      expect(ok.status).toBe(202);
      expect(since(n).map((e) => [e.connectionId, e.eventType])).toEqual([
        [conns.outlook, 'created'],
        [conns.outlook, 'reauthorizationRequired'],
      ]);
      expect(JSON.stringify(since(n))).not.toContain(CLIENT_STATE);
      expect(
        (await push(graphNotifications(path, [{ subscriptionId: id, clientState: 'forged' }]))).status,
      ).toBe(403);
      expect(since(n)).toHaveLength(2);
    });

    it('gmail: a Pub/Sub push with the token in the URL recorded for the mailbox; a wrong token refused', async () => {
      const path = `/webhooks/providers/gmail/${alpha}`;
      const n = recorded.length;
      const note = { emailAddress: 'user@example.com', historyId: '9876543210' };
      expect((await push(gmailPubSubPush(`${path}?token=${SECRETS.gmail}`, note))).status).toBe(200);
      expect(since(n)).toEqual([
        expect.objectContaining({
          projectId: alpha,
          connectionId: conns.gmail,
          eventType: 'history',
          payload: note,
        }),
      ]);
      expect((await push(gmailPubSubPush(`${path}?token=guess`, note))).status).toBe(403);
      expect(
        (await push(gmailPubSubPush(`/webhooks/providers/gmail/${beta}?token=${SECRETS.gmail}`, note)))
          .status,
      ).toBe(403);
      expect(since(n)).toHaveLength(1);
    });

    it('refuses a body over the bound with 413, and reads a body sent without a content type', async () => {
      const huge = await push({
        method: 'POST',
        path: '/webhooks/providers/dropbox',
        headers: { 'content-type': 'application/json', 'x-dropbox-signature': '00' },
        body: `{"x":"${'a'.repeat(2 * 1024 * 1024)}"}`,
      });
      expect(huge.status).toBe(413);
      expect(JSON.parse(huge.text)).toMatchObject({ error: { code: 'payload_too_large' } });
      const n = recorded.length;
      const { 'content-type': _type, ...bare } = dropboxNotification(
        '/webhooks/providers/dropbox',
        SECRETS.dropbox,
        ['dbid:A'],
      ).headers;
      const plain = dropboxNotification('/webhooks/providers/dropbox', SECRETS.dropbox, ['dbid:A']);
      expect((await push({ ...plain, headers: bare })).status).toBe(200);
      expect(since(n)).toHaveLength(1);
    });

    it('never logs a webhook secret or client state', () => {
      const text = daemon.logs.text;
      for (const secret of [...Object.values(SECRETS), CLIENT_STATE]) expect(text).not.toContain(secret);
    });
  });
}
