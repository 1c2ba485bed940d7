import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/core/connector/registry.js';
import { buildApp } from '../../src/server/app.js';
import type { AppOptions } from '../../src/server/app.js';
import { depsOf } from '../../src/server/contracts.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import type { App } from '../../src/server/types.js';
import { startGithubEmulator } from '../fixtures/emulators/github.js';
import type { GithubEmulator } from '../fixtures/emulators/github.js';
import { PGLITE } from '../helpers/server-store.js';
import { listenOnLoopback } from './helpers.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * The raw proxy maps the URLs of an answer's Link (and Location) headers on the connector's
 * host to its own, as a reverse proxy does: a client following GitHub's `rel="next"` stays on
 * connectr to the last page. Against the GitHub emulator, which pages with RFC 8288 Link
 * headers of absolute URLs as api.github.com does.
 */

describe('raw proxy links', () => {
  let daemon: TestDaemon;
  let store: OpenedServerStore;
  let registry: Registry;
  let github: GithubEmulator;
  let key = '';
  let id = '';
  const apps: App[] = [];

  const appWith = async (options: AppOptions = {}): Promise<App> => {
    const app = await buildApp(
      depsOf(store, registry, { CONNECTR_GITHUB_API_BASE_URL: github.url }),
      options,
    );
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    github = await startGithubEmulator({ token: 'gh-token' });
    daemon = await withServer({ backend: PGLITE, env: { CONNECTR_GITHUB_API_BASE_URL: github.url } });
    ({ store, registry } = daemon);
    const projectId = await daemon.project('default');
    key = await daemon.key(projectId, { name: 'links' });
    id = await daemon.connection(projectId, {
      connector: 'github',
      name: 'gh',
      secret: { access_token: 'gh-token', token_type: 'Bearer', scopes: [] },
      expiresAt: null,
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await daemon.close();
    await github.close();
  });

  /** The URL of `rel` in a Link header (GitHub writes one `<url>; rel="x"` per link). */
  const linkOf = (header: string | null, rel: string): string | undefined =>
    header
      ?.split(', ')
      .map((part) => /^<([^>]*)>; rel="([^"]+)"$/.exec(part))
      .find((m) => m?.[2] === rel)?.[1];

  it('follows GitHub\'s rel="next" through the proxy to the last page, never leaving it', async () => {
    const base = await listenOnLoopback(await appWith());
    const proxy = `${base}/api/v1/connections/${id}/proxy`;
    const seen = github.requests.length;
    const names: string[] = [];
    let next: string | undefined = `${proxy}/user/repos?per_page=2`;
    let pages = 0;
    while (next !== undefined) {
      expect(next.startsWith(`${proxy}/`), next).toBe(true);
      const res = await fetch(next, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-connectr-error')).toBeNull();
      names.push(...((await res.json()) as { name: string }[]).map((r) => r.name));
      const link = res.headers.get('link');
      expect(link).not.toContain(github.url);
      if (pages === 0) expect(linkOf(link, 'last')).toBe(`${proxy}/user/repos?per_page=2&page=3`);
      next = linkOf(link, 'next');
      pages++;
      expect(pages).toBeLessThan(10);
    }
    expect(pages).toBe(3);
    expect(names).toEqual(['alpha', 'beta', 'gamma', 'delta', 'hello']);
    // Each page reached GitHub once, through the proxy, with the connection's token.
    const upstream = github.requests.slice(seen);
    expect(upstream.map((r) => r.url.searchParams.get('page'))).toEqual([null, '2', '3']);
    expect(upstream.every((r) => r.headers.authorization === 'Bearer gh-token')).toBe(true);
  });

  it('maps links onto --public-url, or the forwarded address behind a trusted proxy', async () => {
    const pub = await appWith({ publicUrl: 'https://connectr.example.com/edge/' });
    const res = await pub.inject({
      url: `/api/v1/connections/${id}/proxy/user/repos?per_page=2`,
      headers: { authorization: `Bearer ${key}`, 'x-forwarded-host': 'evil.example.com' },
    });
    expect(linkOf(res.headers.link as string, 'next')).toBe(
      `https://connectr.example.com/edge/api/v1/connections/${id}/proxy/user/repos?per_page=2&page=2`,
    );
    const trusting = await appWith({ trustProxy: true });
    const behind = await trusting.inject({
      url: `/api/v1/connections/${id}/proxy/user/repos?per_page=2`,
      headers: {
        authorization: `Bearer ${key}`,
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'api.example.org',
      },
    });
    expect(linkOf(behind.headers.link as string, 'next')).toBe(
      `https://api.example.org/api/v1/connections/${id}/proxy/user/repos?per_page=2&page=2`,
    );
    // Not trusted: a forwarded host is ignored; with no listening address, the path alone.
    const plain = await appWith();
    const direct = await plain.inject({
      url: `/api/v1/connections/${id}/proxy/user/repos?per_page=2`,
      headers: { authorization: `Bearer ${key}`, 'x-forwarded-host': 'evil.example.com' },
    });
    expect(linkOf(direct.headers.link as string, 'next')).toBe(
      `/api/v1/connections/${id}/proxy/user/repos?per_page=2&page=2`,
    );
  });

  it("lets a page of an allowed origin read the API's own headers on a proxied answer", async () => {
    const app = await appWith({ corsOrigins: ['https://app.example.com'] });
    const res = await app.inject({
      url: `/api/v1/connections/${id}/proxy/user/repos?per_page=2`,
      headers: { authorization: `Bearer ${key}`, origin: 'https://app.example.com' },
    });
    const exposed = String(res.headers['access-control-expose-headers'])
      .split(',')
      .map((h) => h.trim());
    for (const name of ['link', 'x-ratelimit-remaining', 'x-connectr-error', 'x-request-id'])
      expect(exposed).toContain(name);
  });
});
