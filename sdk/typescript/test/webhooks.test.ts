/**
 * Webhook management through the client, against the harness's real daemon, with a receiver on
 * 127.0.0.1 that checks every delivery with verifyWebhook (the official library underneath).
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError, verifyWebhook } from '../src/index.js';
import type { WebhookEvent } from '../src/index.js';
import { client, harness, rejection } from './harness.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

let receiver: Server;
let receiverUrl = '';
const received: Received[] = [];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
});

afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

/** The first delivery (from `from` on) that `match` accepts, within 30 s. */
async function delivery(from: number, match: (r: Received) => boolean): Promise<Received> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const found = received.slice(from).find(match);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no such delivery within 30 s');
}

describe('webhooks', () => {
  it('create, list, show, update, rotate, test, deliveries, redeliver, delete', async () => {
    const c = client();
    const made = await c.createWebhook({ url: receiverUrl, description: 'sdk test' });
    expect(made.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(made.url).toBe(receiverUrl);
    expect(made.events).toContain('connection.created');
    expect(made.description).toBe('sdk test');

    const listed = await c.listWebhooks();
    expect(listed.map((w) => w.id)).toContain(made.id);
    const shown = await c.getWebhook(made.id);
    expect(shown.url).toBe(receiverUrl);
    // The secret is shown once: never again in a list or a show.
    expect(JSON.stringify([listed, shown])).not.toContain(made.secret);

    const updated = await c.updateWebhook(made.id, { description: 'renamed' });
    expect(updated.description).toBe('renamed');
    expect((await c.getWebhook(made.id)).description).toBe('renamed');

    // A connection event reaches the receiver, signed with the endpoint's secret.
    let from = received.length;
    const connection = await c.createConnection({ connector_type: 'gmail', name: 'webhook sdk test' });
    const created = await delivery(from, (r) => r.body.includes(connection.id));
    const event: WebhookEvent = verifyWebhook(created.body, created.headers, made.secret);
    expect(event.type).toBe('connection.created');
    if (event.type === 'connection.created') expect(event.data.id).toBe(connection.id);

    // After a rotation both secrets sign, so a receiver still on the old one keeps verifying.
    const rotated = await c.rotateWebhookSecret(made.id);
    expect(rotated.id).toBe(made.id);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(made.secret);
    from = received.length;
    const queued = await c.testWebhook(made.id);
    const test = await delivery(from, (r) => r.body.includes('webhook.test'));
    expect(verifyWebhook(test.body, test.headers, made.secret).type).toBe('webhook.test');
    expect(verifyWebhook(test.body, test.headers, rotated.secret).type).toBe('webhook.test');
    expect(String(test.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(test.headers['webhook-id']).toBe(queued.event_id);

    const deadline = Date.now() + 30_000;
    let deliveries = await c.listWebhookDeliveries(made.id);
    while (!deliveries.some((d) => d.event_id === queued.event_id && d.state === 'delivered')) {
      if (Date.now() > deadline) throw new Error('the test delivery is not listed as delivered');
      await new Promise((resolve) => setTimeout(resolve, 100));
      deliveries = await c.listWebhookDeliveries(made.id);
    }
    const attempt = deliveries.find((d) => d.event_id === queued.event_id);
    expect(attempt?.last_status).toBe(204);
    expect(attempt?.type).toBe('webhook.test');
    expect(await c.listWebhookDeliveries(made.id, { limit: 1 })).toHaveLength(1);

    from = received.length;
    expect((await c.redeliverWebhook(made.id, queued.event_id)).event_id).toBe(queued.event_id);
    const again = await delivery(from, (r) => r.headers['webhook-id'] === queued.event_id);
    expect(verifyWebhook(again.body, again.headers, rotated.secret).type).toBe('webhook.test');

    await c.deleteWebhook(made.id);
    expect(await rejection(c.getWebhook(made.id))).toBeInstanceOf(NotFoundError);
    expect((await c.listWebhooks()).map((w) => w.id)).not.toContain(made.id);
    await c.deleteConnection(connection.id);
  });

  it('refuses a URL that is neither https nor loopback http, and names the field', async () => {
    for (const url of ['http://example.com/hook', 'ftp://127.0.0.1/hook', 'not a url']) {
      const error = await rejection(client().createWebhook({ url }));
      expect(error).toBeInstanceOf(InvalidInputError);
      expect(error.status).toBe(400);
    }
    const error = await rejection(
      client().createWebhook({ url: receiverUrl, events: ['connection.nope' as never] }),
    );
    expect(error).toBeInstanceOf(InvalidInputError);
  });

  it("another project's key, an unknown id or an id with a dot segment never reach the endpoint", async () => {
    const made = await client().createWebhook({ url: receiverUrl });
    try {
      const other = client(harness().other_key);
      expect(await rejection(other.getWebhook(made.id))).toBeInstanceOf(NotFoundError);
      expect(await rejection(other.deleteWebhook(made.id))).toBeInstanceOf(NotFoundError);
      expect(await rejection(other.rotateWebhookSecret(made.id))).toBeInstanceOf(NotFoundError);
      expect((await other.listWebhooks()).map((w) => w.id)).not.toContain(made.id);
      expect(await rejection(client().getWebhook('wh_unknown0'))).toBeInstanceOf(NotFoundError);
      expect(await rejection(client().redeliverWebhook(made.id, 'msg_unknown0'))).toBeInstanceOf(
        NotFoundError,
      );
      await expect(client().getWebhook('..')).rejects.toThrow(InvalidInputError);
      await expect(client().redeliverWebhook(made.id, '..')).rejects.toThrow(InvalidInputError);
    } finally {
      await client().deleteWebhook(made.id);
    }
  });
});
