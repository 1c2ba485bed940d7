import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLinkHeader } from '../../../src/core/engine/paginate.js';
import { ConnectrError } from '../../../src/core/errors.js';
import { httpExchange } from '../../../src/core/http/request.js';
import { USER_AGENT } from '../../../src/core/version.js';

/**
 * The small exchanges of sign-in (token, revocation, identity endpoints) against a real server
 * on 127.0.0.1: they carry connectr's User-Agent, as API requests do, and an endpoint that
 * answers without end cannot make connectr hold it all in memory.
 */
describe('httpExchange', () => {
  let server: Server;
  let base: string;
  const agents: (string | undefined)[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      agents.push(req.headers['user-agent']);
      if (req.url === '/huge') {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let sent = 0;
        const more = (): void => {
          while (sent < 64 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) {
              res.once('drain', more);
              return;
            }
          }
          res.end();
        };
        res.on('close', () => res.removeAllListeners('drain'));
        more();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"access_token":"t"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends User-Agent: connectr/<version> unless the caller names one', async () => {
    agents.length = 0;
    await httpExchange('POST', `${base}/token`, { body: 'grant_type=x' });
    await httpExchange('POST', `${base}/token`, {
      body: 'grant_type=x',
      headers: { 'user-agent': 'other/1' },
    });
    expect(agents).toEqual([USER_AGENT, 'other/1']);
  });

  it('refuses an answer over 1 MiB as an upstream fault, without reading it all', async () => {
    const error = await httpExchange('POST', `${base}/huge`, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectrError);
    expect(error).toMatchObject({ code: 'upstream' });
    expect((error as ConnectrError).message).toContain('more than 1 MiB');
  });
});

describe('parseLinkHeader', () => {
  it('keeps rel names from the server as plain names, __proto__ included', () => {
    const links = parseLinkHeader(
      '<https://a.example/2>; rel="next", <https://a.example/x>; rel="__proto__"',
    );
    expect(links.get('next')).toBe('https://a.example/2');
    expect(links.get('__proto__')).toBe('https://a.example/x');
    expect(links.get('constructor')).toBeUndefined();
  });
});
