/**
 * What each webhook management call sends (method, path, query, body), against a fake server
 * on 127.0.0.1: the daemon's routes are checked end to end in webhooks.test.ts.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConnectrClient, InvalidInputError } from '../src/index.js';

const HOOK = {
  id: 'wh_1',
  url: 'https://example.com/h',
  events: ['connection.deleted'],
  description: null,
  disabled: false,
  disabled_reason: null,
  created_at: 't',
  updated_at: 't',
};
let server: Server;
let url = '';
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '';
      seen.push(`${request.method ?? ''} ${path} ${Buffer.concat(chunks).toString()}`.trim());
      const answer =
        request.method === 'GET' && path === '/api/v1/webhooks'
          ? { webhooks: [HOOK] }
          : path.includes('/deliveries?')
            ? { deliveries: [] }
            : path.endsWith('/rotate-secret')
              ? { ...HOOK, secret: 'whsec_BBBB' }
              : path.endsWith('/test') || path.endsWith('/redeliver')
                ? { event_id: 'msg_1' }
                : request.method === 'DELETE'
                  ? { deleted: true }
                  : { ...HOOK, secret: 'whsec_AAAA' };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('each webhook call sends its method, path, query and body', async () => {
  const c = new ConnectrClient({ baseUrl: url, apiKey: 'cnr_test', env: {} });
  expect(
    (await c.createWebhook({ url: 'https://example.com/h', events: ['connection.deleted'] })).secret,
  ).toBe('whsec_AAAA');
  expect((await c.listWebhooks()).map((w) => w.id)).toEqual(['wh_1']);
  await c.getWebhook('wh/1');
  await c.updateWebhook('wh_1', { description: null, disabled: false });
  expect((await c.rotateWebhookSecret('wh_1')).secret).toBe('whsec_BBBB');
  expect((await c.testWebhook('wh_1')).event_id).toBe('msg_1');
  expect(await c.listWebhookDeliveries('wh_1', { limit: 10 })).toEqual([]);
  await c.redeliverWebhook('wh_1', 'msg_1');
  await c.deleteWebhook('wh_1');
  for (const bad of ['', '.', '..']) {
    await expect(c.getWebhook(bad)).rejects.toThrow(InvalidInputError);
    await expect(c.redeliverWebhook('wh_1', bad)).rejects.toThrow(InvalidInputError);
  }
  expect(seen).toEqual([
    'POST /api/v1/webhooks {"url":"https://example.com/h","events":["connection.deleted"]}',
    'GET /api/v1/webhooks',
    'GET /api/v1/webhooks/wh%2F1',
    'PATCH /api/v1/webhooks/wh_1 {"description":null,"disabled":false}',
    'POST /api/v1/webhooks/wh_1/rotate-secret',
    'POST /api/v1/webhooks/wh_1/test',
    'GET /api/v1/webhooks/wh_1/deliveries?limit=10',
    'POST /api/v1/webhooks/wh_1/deliveries/msg_1/redeliver',
    'DELETE /api/v1/webhooks/wh_1',
  ]);
});
