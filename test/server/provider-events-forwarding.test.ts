import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateConnection } from '../../src/server/store/connections.js';
import { dropboxNotification } from '../fixtures/emulators/dropbox.js';
import { githubDelivery } from '../fixtures/emulators/github.js';
import { deliver } from '../fixtures/emulators/push.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * A provider's verified push reaches the app as a Standard Webhooks delivery of
 * `provider.event`, verified at the receiver with the official `standardwebhooks` library.
 * Written against issue #23's outbox and endpoints API (POST /api/v1/webhooks): it passes once
 * #23 is merged and recordProviderEvent writes to its outbox (webhooks/provider-event.ts).
 */

// A name, not a literal: the library arrives with #23 and must not break the type check before.
const STANDARD_WEBHOOKS = 'standardwebhooks';
interface WebhookVerifier {
  verify(payload: string, headers: Record<string, string>): unknown;
}

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
      const { Webhook } = (await import(STANDARD_WEBHOOKS)) as {
        Webhook: new (secret: string) => WebhookVerifier;
      };
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
      ] as const) {
        const put = await daemon.app.inject({
          method: 'PUT',
          url: `/api/v1/oauth-apps/${connector}`,
          headers: auth,
          payload: { client_id: `${connector}-client`, webhook_secret: secret },
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
  });
}
