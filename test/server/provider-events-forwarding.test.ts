import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateConnection } from '../../src/server/store/connections.js';
import { putSubscription } from '../../src/server/store/provider-subscriptions.js';
import { dropboxNotification } from '../fixtures/emulators/dropbox.js';
import { githubDelivery } from '../fixtures/emulators/github.js';
import { gmailPubSubPush } from '../fixtures/emulators/gmail.js';
import { graphNotifications } from '../fixtures/emulators/graph.js';
import { deliver } from '../fixtures/emulators/push.js';
import { slackEventCallback, slackRequest } from '../fixtures/emulators/slack.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * A provider's verified push reaches the app as a Standard Webhooks delivery of
 * `provider.event` (the outbox and endpoints of docs/webhooks.md), verified at the receiver
 * with the official `standardwebhooks` library: for each of the five shapes.
 */

const CLIENT_STATE = 'graph-CLIENT-state-forwarding';
const GRAPH_SUBSCRIPTION = '0c3f6a5e-9e0f-4c1d-8a54-3b2f1e0d9c7b';

interface Delivery {
  readonly type: string;
  readonly data: { connector: string; connection_id: string | null; event_type: string; payload: unknown };
}

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`provider events forwarded on ${variantTitle(variant)}`, () => {
    let daemon: TestDaemon;
    const received: Delivery[] = [];
    const failures: string[] = [];
    const receiver = createServer();
    const conns: string[] = [];
    const others: Record<string, string> = {};
    let project = '';

    beforeAll(async () => {
      receiver.listen(0, '127.0.0.1');
      await once(receiver, 'listening');
      daemon = await withServer({ backend: variant, listen: true });
      project = await daemon.project('forwarding');
      const key = await daemon.key(project, { name: 'app' });
      const auth = { authorization: `Bearer ${key}` };
      const endpoint = await daemon.app.inject({
        method: 'POST',
        url: '/api/v1/webhooks',
        headers: auth,
        payload: { url: `http://127.0.0.1:${String((receiver.address() as AddressInfo).port)}/hook` },
      });
      expect(endpoint.statusCode, endpoint.body).toBe(201);
      const verifier = new Webhook(endpoint.json<{ secret: string }>().secret);
      receiver.on('request', (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          try {
            const headers = Object.fromEntries(
              Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
            );
            verifier.verify(body, headers);
            const delivery = JSON.parse(body) as Delivery;
            if (delivery.type === 'provider.event') received.push(delivery);
          } catch (error) {
            failures.push(String(error));
          }
          res.writeHead(204).end();
        });
      });
      for (const [connector, secret] of [
        ['dropbox', 'dropbox-APP-secret'],
        ['github', 'github-WEBHOOK-secret'],
        ['slack', 'slack-SIGNING-secret'],
        ['gmail', 'gmail-PUSH-token'],
      ] as const) {
        const put = await daemon.app.inject({
          method: 'PUT',
          url: `/api/v1/oauth-apps/${connector}`,
          headers: auth,
          payload: {
            client_id: `${connector}-client`,
            client_secret: `${connector}-client-secret`,
            webhook_secret: secret,
          },
        });
        expect(put.statusCode, put.body).toBe(200);
      }
      for (const account of ['dbid:A', 'dbid:B']) {
        const id = await daemon.connection(project, { connector: 'dropbox', name: account });
        await updateConnection(daemon.store.db, project, id, {
          status: 'active',
          providerAccountId: account,
        });
        conns.push(id);
      }
      const made = async (connector: string, patch: Parameters<typeof updateConnection>[3]) => {
        const id = await daemon.connection(project, { connector, name: connector });
        await updateConnection(daemon.store.db, project, id, { status: 'active', ...patch });
        return id;
      };
      others.slack = await made('slack', { providerAccountId: 'T1' });
      others.gmail = await made('gmail', { accountIdentity: 'user@example.com' });
      others.outlook = await made('outlook', { accountIdentity: 'u@contoso.com' });
      await putSubscription(daemon.store.db, daemon.store.keys, {
        projectId: project,
        connectionId: others.outlook,
        connector: 'outlook',
        subscriptionId: GRAPH_SUBSCRIPTION,
        resource: 'me/mailFolders/inbox/messages',
        clientState: CLIENT_STATE,
        expiresAt: new Date(Date.now() + 3600_000),
      });
    }, 60_000);

    afterAll(async () => {
      await daemon.close();
      receiver.close();
    });

    const arrived = async (count: number): Promise<Delivery[]> => {
      const deadline = Date.now() + 20_000;
      while (received.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return received.splice(0, received.length);
    };

    it('one Dropbox notification of two accounts arrives twice, once per connection, signed as Standard Webhooks', async () => {
      const res = await deliver(
        daemon.base,
        dropboxNotification('/webhooks/providers/dropbox', 'dropbox-APP-secret', ['dbid:A', 'dbid:B']),
      );
      expect(res.status).toBe(200);
      const deliveries = await arrived(2);
      expect(failures).toEqual([]);
      expect(deliveries.map((d) => d.data.connection_id).sort()).toEqual([...conns].sort());
      for (const d of deliveries) {
        expect(d.data).toMatchObject({ connector: 'dropbox', event_type: 'list_folder' });
        expect(d.data.payload).toMatchObject({ list_folder: { accounts: ['dbid:A', 'dbid:B'] } });
      }
    });

    it('an unattributable GitHub event arrives once with connection_id null; a redelivery is not forwarded again', async () => {
      const push = githubDelivery('/webhooks/providers/github', 'github-WEBHOOK-secret', 'star', {
        action: 'created',
        sender: { id: 99 },
      });
      expect((await deliver(daemon.base, push)).status).toBe(200);
      expect((await deliver(daemon.base, push)).status).toBe(200);
      const deliveries = await arrived(1);
      await new Promise((r) => setTimeout(r, 500));
      expect(
        [...deliveries, ...received].map((d) => [d.data.connector, d.data.connection_id, d.data.event_type]),
      ).toEqual([['github', null, 'star']]);
      expect(failures).toEqual([]);
    });

    it('a Slack event, a Graph notification and a Gmail push each arrive once, for their connection', async () => {
      const slack = slackRequest(
        '/webhooks/providers/slack',
        'slack-SIGNING-secret',
        slackEventCallback(['T1'], 'Ev0FORWARD1'),
        Date.now() / 1000,
      );
      expect((await deliver(daemon.base, slack)).status).toBe(200);
      const graph = graphNotifications('/webhooks/providers/outlook', [
        { subscriptionId: GRAPH_SUBSCRIPTION, clientState: CLIENT_STATE },
      ]);
      expect((await deliver(daemon.base, graph)).status).toBe(202);
      const gmail = gmailPubSubPush(`/webhooks/providers/gmail/${project}?token=gmail-PUSH-token`, {
        emailAddress: 'user@example.com',
        historyId: '9876',
      });
      expect((await deliver(daemon.base, gmail)).status).toBe(200);
      const deliveries = await arrived(3);
      expect(failures).toEqual([]);
      const seen = deliveries.map((d) => [d.data.connector, d.data.connection_id, d.data.event_type]);
      expect(seen.sort()).toEqual(
        [
          ['gmail', others.gmail, 'history'],
          ['outlook', others.outlook, 'created'],
          ['slack', others.slack, 'message'],
        ].sort(),
      );
      // The clientState connectr set is its secret: never forwarded.
      expect(JSON.stringify(deliveries)).not.toContain(CLIENT_STATE);
    });
  });
}
