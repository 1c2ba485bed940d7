import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';

/**
 * The CLI follows an API's redirects and page links as the daemon does (one engine): within the
 * connector's hosts only (issue #21, point 3). Through the real binary: the refusal is exit 4
 * with a message naming the refused host, and nothing reaches it.
 */

interface Listening {
  readonly server: Server;
  readonly origin: string;
  readonly hits: string[];
}

async function listen(
  host: string,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Listening> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, origin: `http://${host}:${String((server.address() as AddressInfo).port)}`, hits };
}

describe('connectr call / api: redirects and page links stay on the connector’s hosts', () => {
  const home = tempHome();
  let api: Listening;
  let inside: Listening;
  let env: Record<string, string>;
  beforeAll(async () => {
    inside = await listen('127.0.0.1', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"emailAddress":"internal-SECRET","messages":[]}');
    });
    api = await listen('127.0.0.1', (req, res) => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      if (path === '/gmail/v1/users/me/profile') {
        res.writeHead(302, { location: `${inside.origin}/latest/meta-data`, 'content-length': '0' });
        res.end();
      } else if (path === '/gmail/v1/users/me/labels') {
        res.writeHead(200, {
          'content-type': 'application/json',
          link: `<${inside.origin}/gmail/v1/users/me/labels?page=2>; rel="next"`,
        });
        res.end('[{"id":"first"}]');
      } else {
        res.writeHead(404).end();
      }
    });
    env = { ...home.env, CONNECTR_GMAIL_API_BASE_URL: api.origin, CONNECTR_GMAIL_TOKEN: 'gmail-token' };
  });
  afterAll(async () => {
    for (const s of [api, inside]) {
      s.server.closeAllConnections();
      await new Promise((resolve) => s.server.close(resolve));
    }
    home.cleanup();
  });

  it('a redirect to another port of 127.0.0.1 is refused: exit 4, the host named, nothing sent', async () => {
    const r = await runBin(['call', 'gmail', 'get_profile'], env);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain(
      `error: refused to follow a redirect of Gmail to ${new URL(inside.origin).host}: not one of the connector's hosts`,
    );
    expect(r.stdout).not.toContain('SECRET');
    expect(inside.hits).toEqual([]);
  });

  it('a Link header to another port is refused with --paginate: exit 4 after the first page', async () => {
    const r = await runBin(['api', 'gmail', '/gmail/v1/users/me/labels', '--paginate'], env);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stdout).toContain('first');
    expect(r.stderr).toContain(
      `error: refused to follow a next-page link of Gmail to ${new URL(inside.origin).host}`,
    );
    expect(inside.hits).toEqual([]);
  });
});
