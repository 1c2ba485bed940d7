import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnector } from '../../../src/core/connector/load.js';
import type { Connector } from '../../../src/core/connector/model.js';
import { followPolicy, matchesRedirectHost } from '../../../src/core/engine/follow.js';
import type { Resolve } from '../../../src/core/engine/follow.js';
import { isConnectrError } from '../../../src/core/errors.js';
import { NonPublicAddress, publicLookup } from '../../../src/core/http/address.js';
import { dumpBody, sendRequest } from '../../../src/core/http/client.js';

/**
 * The follow policy (engine/follow.ts) on its own: which redirects and page links a connector
 * may follow, with DNS answers injected, so that a public connector (which tests on loopback
 * cannot have for real) is covered; and the connect-time check (publicLookup) on a real socket.
 */

function connector(hosts: string, extra = ''): Connector {
  const yaml = `name: acme\ndisplay_name: Acme\nversion: 1\ndocs_url: https://example.com/docs\ndescription: Test.\nhosts:\n${hosts}${extra}auth:\n  type: none\nendpoints:\n  ping:\n    summary: Ping.\n    method: GET\n    path: /ping\n`;
  const parsed = parseConnector(yaml, { file: 'acme.yaml', origin: 'extra' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.connector;
}

const dns: Record<string, readonly string[]> = {
  'api.example.com': ['93.184.216.34'],
  'files.example.com': ['93.184.216.35'],
  'rebound.example.com': ['93.184.216.36', '10.0.0.7'],
  'intranet.corp': ['10.1.2.3'],
};
const resolve: Resolve = (hostname) => {
  const found = dns[hostname];
  return found ? Promise.resolve(found) : Promise.reject(new Error(`ENOTFOUND ${hostname}`));
};

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isConnectrError(error) && error.code === 'follow_refused') return error.message;
    throw error;
  }
  throw new Error('not refused');
}

describe('followPolicy', () => {
  const publicApi = connector(
    '  api: https://api.example.com/v1\n  files: https://files.example.com\n',
    'redirect_hosts:\n  - https://*.sharepoint.com\n  - https://dl.example.net\n',
  );
  const policy = followPolicy(publicApi, {}, resolve);

  it("follows redirects and page links to the connector's hosts, checking the address at connect time", async () => {
    expect(await policy.check(new URL('https://api.example.com/v1/next?page=2'), 'page link')).toEqual({
      publicOnly: true,
    });
    expect(await policy.check(new URL('https://files.example.com/x'), 'redirect')).toEqual({
      publicOnly: true,
    });
  });

  it('follows a redirect, never a page link, to redirect_hosts', async () => {
    expect(await policy.check(new URL('https://tenant-my.sharepoint.com/dl?tempauth=x'), 'redirect')).toEqual(
      {
        publicOnly: true,
      },
    );
    expect(await policy.check(new URL('https://dl.example.net/f'), 'redirect')).toEqual({ publicOnly: true });
    expect(await refusal(policy.check(new URL('https://tenant-my.sharepoint.com/p'), 'page link'))).toContain(
      'tenant-my.sharepoint.com',
    );
  });

  it('sends an upload to the connector’s hosts and redirect_hosts, public addresses only', async () => {
    expect(await policy.check(new URL('https://sn3302.sharepoint.com/up/x'), 'upload URL')).toEqual({
      publicOnly: true,
    });
    expect(await policy.check(new URL('https://api.example.com/v1/up?id=1'), 'upload URL')).toEqual({
      publicOnly: true,
    });
    expect(await refusal(policy.check(new URL('https://evil.example.com/up'), 'upload URL'))).toBe(
      "refused to follow an upload URL of Acme to evil.example.com: not one of the connector's hosts",
    );
    expect(await refusal(policy.check(new URL('http://169.254.169.254/up'), 'upload URL'))).toContain(
      'refused to follow an upload URL of Acme to 169.254.169.254',
    );
  });

  it.each([
    ['http://api.example.com/v1/x', 'another scheme'],
    ['https://api.example.com:8443/v1/x', 'another port'],
    ['https://evil.example.com/', 'another host'],
    ['https://api.example.com.evil.net/', 'a suffix'],
    ['https://user@api.example.com/v1/x', 'user information'],
    ['https://sharepoint.com/', 'the wildcard’s own domain'],
    ['https://evilsharepoint.com/', 'a look-alike of the wildcard'],
    ['http://x.sharepoint.com/', 'the wildcard over plain http'],
    ['https://dl.example.net:444/', 'a redirect host on another port'],
    ['http://169.254.169.254/latest/meta-data', 'a metadata address'],
    ['http://127.0.0.1:8080/', 'loopback'],
    ['http://[::1]/', 'IPv6 loopback'],
  ])('refuses %s (%s)', async (target) => {
    const message = await refusal(policy.check(new URL(target), 'redirect'));
    expect(message).toContain(`refused to follow a redirect of Acme to ${new URL(target).host}`);
  });

  it('refuses a literal internal address or localhost even on a declared host of a public connector', async () => {
    const literal = connector('  api: https://api.example.com\n  internal: http://10.0.0.5\n');
    // One private host makes the connector local: its follows are not address-checked.
    expect(await followPolicy(literal, {}, resolve).check(new URL('http://10.0.0.5/x'), 'redirect')).toEqual({
      publicOnly: false,
    });
    const overridden = followPolicy(
      publicApi,
      { CONNECTR_ACME_FILES_BASE_URL: 'https://files.example.com' },
      resolve,
    );
    expect(await overridden.check(new URL('https://files.example.com/a'), 'redirect')).toEqual({
      publicOnly: true,
    });
    const redirectedInside = followPolicy(
      publicApi,
      { CONNECTR_ACME_REDIRECT_HOSTS: 'https://*.internal.example, https://192.168.1.10' },
      resolve,
    );
    expect(await refusal(redirectedInside.check(new URL('https://192.168.1.10/dl'), 'redirect'))).toContain(
      'a loopback, private or link-local address',
    );
    expect(await redirectedInside.check(new URL('https://a.internal.example/dl'), 'redirect')).toEqual({
      publicOnly: true,
    });
  });

  it('a connector whose host is local (literal, localhost, or a name that resolves inside) follows within its origins', async () => {
    for (const host of [
      'http://127.0.0.1:5000',
      'http://localhost:5000',
      'https://intranet.corp',
      'https://rebound.example.com',
    ]) {
      const local = followPolicy(connector(`  api: ${host}\n`), {}, resolve);
      expect(await local.check(new URL(`${host}/next`), 'page link'), host).toEqual({ publicOnly: false });
      expect(await refusal(local.check(new URL('http://127.0.0.1:5001/next'), 'page link')), host).toContain(
        '127.0.0.1:5001',
      );
    }
  });

  it('CONNECTR_<NAME>_REDIRECT_HOSTS replaces the list, and must hold origins', async () => {
    const replaced = followPolicy(
      publicApi,
      { CONNECTR_ACME_REDIRECT_HOSTS: 'https://cdn.example.org' },
      resolve,
    );
    expect(await replaced.check(new URL('https://cdn.example.org/f'), 'redirect')).toEqual({
      publicOnly: true,
    });
    await refusal(replaced.check(new URL('https://x.sharepoint.com/f'), 'redirect'));
    const bad = followPolicy(
      publicApi,
      { CONNECTR_ACME_REDIRECT_HOSTS: 'https://cdn.example.org/path' },
      resolve,
    );
    await expect(bad.check(new URL('https://cdn.example.org/f'), 'redirect')).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('matchesRedirectHost: a wildcard stands for one or more labels, same scheme and port', () => {
    const patterns = ['https://*.files.1drv.com', 'http://127.0.0.1:9000'];
    expect(matchesRedirectHost(new URL('https://a.files.1drv.com/x'), patterns)).toBe(true);
    expect(matchesRedirectHost(new URL('https://a.b.files.1drv.com/x'), patterns)).toBe(true);
    expect(matchesRedirectHost(new URL('https://files.1drv.com/x'), patterns)).toBe(false);
    expect(matchesRedirectHost(new URL('https://a.files.1drv.com:444/x'), patterns)).toBe(false);
    expect(matchesRedirectHost(new URL('http://127.0.0.1:9000/dl'), patterns)).toBe(true);
    expect(matchesRedirectHost(new URL('http://127.0.0.1:9001/dl'), patterns)).toBe(false);
  });
});

describe('the connect-time check (publicLookup)', () => {
  let server: Server;
  let port = 0;
  const hits: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('inside');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });

  const init = { method: 'GET', headers: {}, headersTimeoutMs: 5000, bodyTimeoutMs: 5000 };

  it('refuses a name that resolves to loopback, through node:http and through undici, before connecting', async () => {
    const url = new URL(`http://localhost:${String(port)}/secret`);
    const agent = new Agent();
    try {
      for (const dispatcher of [undefined, agent]) {
        const error = await sendRequest(url, { ...init, dispatcher, publicOnly: true }).then(
          () => undefined,
          (e: unknown) => e,
        );
        let found: unknown = error;
        while (found instanceof Error && !(found instanceof NonPublicAddress)) found = found.cause;
        expect(found, String(error)).toBeInstanceOf(NonPublicAddress);
        expect((found as NonPublicAddress).hostname).toBe('localhost');
      }
      expect(hits).toEqual([]);
      // Without the check, the same request reaches it: the refusal is the check's.
      const reached = await sendRequest(url, { ...init, dispatcher: agent });
      expect(reached.statusCode).toBe(200);
      await dumpBody(reached.body);
      expect(hits).toEqual(['/secret']);
    } finally {
      await agent.close();
    }
  });

  it('refuses in the form undici and autoSelectFamily ask (all: true) too', async () => {
    const answers: unknown[] = [];
    await new Promise<void>((done) => {
      publicLookup('localhost', { all: true }, (error) => {
        answers.push(error);
        done();
      });
    });
    expect(answers[0]).toBeInstanceOf(NonPublicAddress);
  });
});
