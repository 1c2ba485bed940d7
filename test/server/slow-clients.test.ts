import { afterEach, describe, expect, it } from 'vitest';
import type { AppOptions } from '../../src/server/app.js';
import type { App } from '../../src/server/types.js';
import { answerHead, slowClient } from '../helpers/slow-client.js';
import type { SlowClient } from '../helpers/slow-client.js';
import { connectionLimits, serverSettings } from '../../src/server/settings.js';
import { addressKey } from '../../src/server/connection-limits.js';
import { KEY, listenOnLoopback, testServer } from './helpers.js';

/**
 * Sockets held without a key (issue #21, point 2), replayed against the app on a real socket:
 * a client that trickles its body after an early refusal, or its headers, or nothing at all,
 * must lose its socket within the configured bounds, not minutes later.
 */

const apps: App[] = [];
const clients: SlowClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function serving(options: AppOptions = {}): Promise<number> {
  const { app } = await testServer(options);
  apps.push(app);
  const base = await listenOnLoopback(app);
  return Number(new URL(base).port);
}

function client(port: number, localAddress?: string): SlowClient {
  const c = slowClient(port, localAddress === undefined ? {} : { localAddress });
  clients.push(c);
  return c;
}

/** The head of a request: its body (if any) is for the test to send. */
function head(method: string, path: string, headers: Record<string, string>): string {
  const lines = Object.entries({ host: '127.0.0.1', ...headers }).map(([name, value]) => `${name}: ${value}`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

describe('an answer sent before the body was read closes the connection', () => {
  // Each: the answer comes before the body is read; the client then feeds the announced body a
  // byte every 50 ms (the attack fed one every 20 s), which must not keep the socket.
  const cases: { name: string; status: number; request: string }[] = [
    {
      name: 'a bad key (401)',
      status: 401,
      request: head('POST', '/api/v1/connections', {
        authorization: 'Bearer ck_not_a_key',
        'content-type': 'application/json',
        'content-length': '10000000',
      }),
    },
    {
      name: 'no key at all (401)',
      status: 401,
      request: head('POST', '/api/v1/connections', {
        'content-type': 'application/json',
        'content-length': '10000000',
      }),
    },
    {
      name: 'a Content-Length over the body limit (413)',
      status: 413,
      request: head('POST', '/api/v1/connections', {
        authorization: `Bearer ${KEY}`,
        'content-type': 'application/json',
        'content-length': '10000000',
      }),
    },
    {
      name: 'a body of a type no route takes (415)',
      status: 415,
      request: head('POST', '/api/v1/connections', {
        authorization: `Bearer ${KEY}`,
        'content-type': 'text/xml',
        'content-length': '1000',
      }),
    },
    {
      name: 'a chunked body to a public GET route (its answer does not wait for the body)',
      status: 200,
      request: head('GET', '/health', { 'transfer-encoding': 'chunked' }),
    },
  ];

  for (const { name, status, request } of cases)
    it(`${name}: Connection: close, and the socket is closed at once while the body trickles`, async () => {
      const port = await serving();
      const c = client(port);
      c.socket.write(request);
      c.trickle(status === 200 ? '5\r\nhello\r\n' : '{"user_id": "u", "connector": "gmail"}'.repeat(20), 50);
      const answeredAt = await c.answered(2000);
      const answer = answerHead(c.received());
      expect(answer.status).toBe(status);
      expect(answer.headers.connection).toBe('close');
      const closedAt = await Promise.race([
        c.closed,
        new Promise<number>((r) => setTimeout(() => r(-1), 1500)),
      ]);
      expect(closedAt, 'the socket is still open 1.5 s after the answer').toBeGreaterThan(0);
      expect(closedAt - answeredAt).toBeLessThan(1000);
    });

  it('a request whose body was read keeps its connection (keep-alive still works)', async () => {
    const port = await serving();
    const c = client(port);
    c.socket.write(
      head('POST', '/api/v1/connections', {
        authorization: `Bearer ${KEY}`,
        'content-type': 'application/json',
        'content-length': '2',
      }) + '{}',
    );
    await c.answered(2000);
    const answer = answerHead(c.received());
    expect(answer.status).toBe(400);
    expect(answer.headers.connection).toBe('keep-alive');
    await new Promise((r) => setTimeout(r, 300));
    expect(c.isClosed()).toBe(false);
  });
});

describe('time bounds on receiving a request', () => {
  // Short bounds, so the test is fast; the defaults are asserted below.
  const bounds = { headersTimeout: 400, requestTimeout: 1200 };

  it('headers trickled a byte at a time are cut at the headers time-out, with a 408', async () => {
    const port = await serving(bounds);
    const c = client(port);
    const start = performance.now();
    c.trickle(`GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ${'a'.repeat(200)}\r\n\r\n`, 40);
    const closedAt = await Promise.race([
      c.closed,
      new Promise<number>((r) => setTimeout(() => r(-1), 2500)),
    ]);
    expect(closedAt, 'the slow headers still held the socket after 2.5 s').toBeGreaterThan(0);
    expect(closedAt - start).toBeLessThan(1000);
    expect(answerHead(c.received()).status).toBe(408);
  });

  it('a connection that sends nothing is cut at the headers time-out', async () => {
    const port = await serving(bounds);
    const c = client(port);
    const start = performance.now();
    const closedAt = await Promise.race([
      c.closed,
      new Promise<number>((r) => setTimeout(() => r(-1), 2500)),
    ]);
    expect(closedAt, 'the silent connection was still open after 2.5 s').toBeGreaterThan(0);
    expect(closedAt - start).toBeLessThan(1000);
  });

  it('a body trickled with a good key is cut at the request time-out, with a 408', async () => {
    const port = await serving(bounds);
    const c = client(port);
    const start = performance.now();
    c.socket.write(
      head('POST', '/api/v1/connections', {
        authorization: `Bearer ${KEY}`,
        'content-type': 'application/json',
        'content-length': '1000',
      }),
    );
    c.trickle(' '.repeat(1000), 40);
    const closedAt = await Promise.race([
      c.closed,
      new Promise<number>((r) => setTimeout(() => r(-1), 3500)),
    ]);
    expect(closedAt, 'the trickled body still held the socket after 3.5 s').toBeGreaterThan(0);
    // The headers came at once: the request time-out cut it, not the headers time-out.
    expect(closedAt - start).toBeGreaterThan(1000);
    expect(closedAt - start).toBeLessThan(2500);
    expect(answerHead(c.received()).status).toBe(408);
  });

  it('by default: headers within 10 s, the whole request within 30 s, idle keep-alive 72 s', async () => {
    const { app } = await testServer();
    apps.push(app);
    expect(app.server.headersTimeout).toBe(10_000);
    expect(app.server.requestTimeout).toBe(30_000);
    expect(app.server.keepAliveTimeout).toBe(72_000);
  });
});

// Several client addresses: on Linux every 127.x.y.z is this machine.
describe.skipIf(process.platform !== 'linux')('connection caps', () => {
  const GET_HEALTH = 'GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n';

  /** Opens `count` connections from `localAddress` that send a byte of headers and wait. */
  async function waiting(port: number, count: number, localAddress: string): Promise<SlowClient[]> {
    const opened = Array.from({ length: count }, () => client(port, localAddress));
    await Promise.all(opened.map((c) => new Promise((r) => c.socket.once('connect', r))));
    for (const c of opened) c.socket.write('G');
    // Let the server see each one before the next step.
    await new Promise((r) => setTimeout(r, 100));
    return opened;
  }

  it('over the cap of one address, its longest-waiting connection is closed; other addresses are not touched', async () => {
    const port = await serving({ connections: { max: 100, perAddress: 5 } });
    const other = await waiting(port, 3, '127.0.0.3');
    const first = await waiting(port, 5, '127.0.0.2');
    const newer = await waiting(port, 1, '127.0.0.2');
    await first[0]?.closed;
    expect(first.slice(1).some((c) => c.isClosed())).toBe(false);
    expect(other.some((c) => c.isClosed())).toBe(false);
    // The newcomer is served at once, and so is a whole request from the flooded address.
    newer[0]?.socket.write(GET_HEALTH.slice(1));
    await newer[0]?.answered(1000);
    expect(answerHead(newer[0]?.received() ?? '').status).toBe(200);
  });

  it('over the global cap, the longest-waiting connection of any address makes room: /health is answered', async () => {
    const port = await serving({ connections: { max: 10, perAddress: 0 } });
    const flood = [...(await waiting(port, 5, '127.0.0.2')), ...(await waiting(port, 5, '127.0.0.3'))];
    const health = client(port);
    health.socket.write(GET_HEALTH);
    await health.answered(1000);
    expect(answerHead(health.received()).status).toBe(200);
    await flood[0]?.closed;
    expect(flood.slice(1).some((c) => c.isClosed())).toBe(false);
  });

  it('when every connection of the address is busy with a request, a new one gets a 503 in the envelope', async () => {
    const { app, readiness } = await testServer({
      connections: { max: 100, perAddress: 3 },
      readyTimeoutMs: 5000,
    });
    apps.push(app);
    const port = Number(new URL(await listenOnLoopback(app)).port);
    readiness.state = 'hang';
    const busy = await waiting(port, 3, '127.0.0.2');
    for (const c of busy) c.socket.write('ET /ready HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    const refused = client(port, '127.0.0.2');
    refused.socket.write(GET_HEALTH);
    await refused.answered(1000);
    const answer = answerHead(refused.received());
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
    expect(answer.headers['x-connectr-error']).toBe('1');
    expect(refused.received()).toContain('"code":"unavailable"');
    await refused.closed;
    // The request it sent was never read: one answer, the 503.
    expect(refused.received().match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(busy.some((c) => c.isClosed())).toBe(false);
    // Another address is still served.
    const health = client(port);
    health.socket.write(GET_HEALTH);
    await health.answered(1000);
    expect(answerHead(health.received()).status).toBe(200);
  });

  it('counts IPv4 as given (also mapped into IPv6) and IPv6 by its /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});

describe('the caps of connectr serve', () => {
  it('come from the flag, else the environment, else the defaults (1000 and 200); a malformed variable is refused by name', () => {
    expect(connectionLimits({}, serverSettings({}))).toEqual({ max: 1000, perAddress: 200 });
    const env = serverSettings({ CONNECTR_MAX_CONNECTIONS: '50', CONNECTR_MAX_CONNECTIONS_PER_ADDRESS: '0' });
    expect(connectionLimits({}, env)).toEqual({ max: 50, perAddress: 0 });
    expect(connectionLimits({ maxConnections: 70, maxConnectionsPerAddress: 7 }, env)).toEqual({
      max: 70,
      perAddress: 7,
    });
    expect(() => connectionLimits({}, serverSettings({ CONNECTR_MAX_CONNECTIONS: '0' }))).toThrow(
      /CONNECTR_MAX_CONNECTIONS must be/,
    );
    expect(() =>
      connectionLimits({}, serverSettings({ CONNECTR_MAX_CONNECTIONS_PER_ADDRESS: '-1' })),
    ).toThrow(/CONNECTR_MAX_CONNECTIONS_PER_ADDRESS must be/);
  });
});
