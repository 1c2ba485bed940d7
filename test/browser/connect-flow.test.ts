import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGmailEmulator } from '../fixtures/emulators/gmail.js';
import type { Emulator } from '../fixtures/emulators/server.js';
import {
  SKIP_BROWSER,
  accessibilityViolations,
  consoleErrors,
  launchBrowser,
  screenshots,
} from '../helpers/browser.js';
import type { TestBrowser } from '../helpers/browser.js';
import { KEYED_CONNECTOR } from '../helpers/keyed-connector.js';
import { gmailServerEnv, startAuthServer } from '../helpers/oauth-server.js';
import type { TestAuthServer } from '../helpers/oauth-server.js';
import { PGLITE } from '../helpers/server-store.js';
import { callApi, withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * The Connect page in Debian's Chromium, against a real daemon on 127.0.0.1 (PGlite), a real
 * authorization server (oauth2-mock-server: PKCE checked at the token endpoint), the Gmail
 * emulator, an API-key service of the test's own, and an "app" on another origin of 127.0.0.1
 * that the page returns to (or that opens it as a popup with the SDK's openConnect).
 */

const HOSTILE = `<script>alert("x")</script>`;

/** An API-key connector whose name is hostile, its key checked on its whoami endpoint. */
const KEYED = KEYED_CONNECTOR.replace('display_name: Keyed', `display_name: 'Keyed ${HOSTILE}'`).replace(
  'endpoints:',
  'health:\n  endpoint: whoami\nendpoints:',
);

const GOOD_KEY = 'good-key-0123456789';

const root = join(import.meta.dirname, '../..');

/** TypeScript as a browser module (types dropped, nothing checked). */
function browserModule(source: string): string {
  return ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
  }).outputText;
}

/** The SDK's openConnect as a browser module, compiled from its source now (never a stale build). */
function sdkModule(): string {
  return browserModule(readFileSync(join(root, 'sdk/typescript/src/connect.ts'), 'utf8'));
}

/** docs/connect.md's TypeScript of "As a popup": the backend's, then the browser's. */
const markdown = readFileSync(join(root, 'docs/connect.md'), 'utf8');
const popupSection = markdown.slice(
  markdown.indexOf('\n### As a popup\n'),
  markdown.indexOf('\n### In a frame\n'),
);
const [DOC_BACKEND = '', DOC_BROWSER = ''] = [...popupSection.matchAll(/\n```ts\n([\s\S]*?)\n```/g)].map(
  (m) => m[1] ?? '',
);

const DOC_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>The documented app</title></head>
<body><main><h1>The documented app</h1><button id="connect" type="button">Connect Gmail</button>
<p id="status" role="status"></p></main><script type="module" src="/docs-app.js"></script></body></html>`;

const OPENER = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>The app</title></head>
<body><main><h1>The app</h1><button id="go" type="button">Connect an account</button><pre id="events"></pre></main>
<script type="module">
import { openConnect } from '/sdk/connect.js';
document.getElementById('go').addEventListener('click', () => {
  openConnect({ url: window.connectUrl, onEvent: (event) => {
    document.getElementById('events').textContent += JSON.stringify(event) + '\\n';
  } });
});
</script></body></html>`;

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe.skipIf(SKIP_BROWSER)('the Connect page in Chromium', () => {
  let daemon: TestDaemon;
  let auth: TestAuthServer;
  let gmail: Emulator;
  let keyedApi: Server;
  let appServer: Server;
  let appOrigin: string;
  let browser: TestBrowser;
  let key: string;
  const keyedSaw: string[] = [];
  /** The documented backend's function, once the docs' test loaded it. */
  let connectUrlFor: ((userId: string) => Promise<string>) | undefined;
  /** What beforeAll started, undone in reverse (whatever it reached before a failure). */
  const cleanups: (() => Promise<unknown> | undefined)[] = [];

  beforeAll(async () => {
    auth = await startAuthServer();
    cleanups.push(() => auth.stop());
    gmail = await startGmailEmulator();
    cleanups.push(() => gmail.close());
    keyedApi = createServer((req, res) => {
      const given = String(req.headers['x-api-key'] ?? '');
      keyedSaw.push(given);
      if (given === GOOD_KEY) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"me":"ok"}');
        return;
      }
      res.writeHead(401, { 'content-type': 'text/plain' }).end(`<b>bad key</b> ${HOSTILE}`);
    });
    const keyedUrl = await listen(keyedApi);
    cleanups.push(() => new Promise((resolve) => keyedApi.close(resolve)));
    appServer = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/sdk/connect.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdkModule());
      } else if (path === '/opener') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(OPENER);
      } else if (path === '/docs-app') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(DOC_PAGE);
      } else if (path === '/docs-app.js') {
        const source = DOC_BROWSER.replace("'@connectr/sdk/connect'", "'/sdk/connect.js'");
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(browserModule(source));
      } else if (path === '/api/connect-url' && req.method === 'POST' && connectUrlFor) {
        void connectUrlFor('docs-user').then((url) => {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url }));
        });
      } else if (path === '/favicon.ico') {
        res.writeHead(204).end();
      } else if (path === '/done') {
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(
            '<!doctype html><html lang="en"><title>Back in the app</title><h1>Back in the app</h1></html>',
          );
      } else {
        res.writeHead(404).end();
      }
    });
    appOrigin = await listen(appServer);
    cleanups.push(() => new Promise((resolve) => appServer.close(resolve)));
    daemon = await withServer({
      backend: PGLITE,
      listen: true,
      connectors: { keyed: KEYED },
      env: { ...gmailServerEnv(auth, gmail.url), CONNECTR_KEYED_API_BASE_URL: keyedUrl },
    });
    cleanups.push(() => daemon.close());
    key = await daemon.key(await daemon.project());
    const settings = await callApi(daemon.base, 'PUT', '/api/v1/connect/settings', key, {
      allowed_origins: [appOrigin],
    });
    expect(settings.status).toBe(200);
    browser = await launchBrowser();
    cleanups.push(() => browser.close());
  }, 60_000);

  afterAll(async () => {
    for (const undo of cleanups.reverse()) await undo();
  });

  const session = async (body: Record<string, unknown>): Promise<string> => {
    const made = await callApi(daemon.base, 'POST', '/api/v1/connect/sessions', key, body);
    expect(made.status, made.text).toBe(201);
    return String(made.json.connect_url);
  };

  /** A page of a fresh context, its console errors collected, and no dialog allowed to open. */
  const open = async (): Promise<{
    context: BrowserContext;
    page: Page;
    errors: string[];
    dialogs: string[];
  }> => {
    const context = await browser.context();
    const page = await context.newPage();
    const errors = consoleErrors(page);
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    return { context, page, errors, dialogs };
  };

  /**
   * The page passes axe and logged no error, and is photographed. A page answered with a 4xx on
   * purpose makes Chromium log that status as an error: only that line, for `status`, is allowed.
   */
  const checkPage = async (page: Page, name: string, errors: string[], status?: number): Promise<void> => {
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshots(page, name);
    const expected = `Failed to load resource: the server responded with a status of ${status ?? 0} `;
    expect(errors.filter((e) => !e.startsWith(expected))).toEqual([]);
  };

  it('signs in with OAuth, returns to the app with the connection, which then executes', async () => {
    const url = await session({
      end_user: { id: 'user-1', display_name: 'Ada Lovelace' },
      allowed_connectors: ['gmail', 'keyed'],
      return_url: `${appOrigin}/done?from=connect`,
      tags: { team: 'blue' },
    });
    const { context, page, errors, dialogs } = await open();
    await page.goto(url);
    await expect.poll(() => page.url()).toBe(`${daemon.base}/connect`);
    await page.getByRole('link', { name: 'Gmail' }).waitFor();
    // A hostile display name is the link's name, as text.
    await page.getByRole('link', { name: `Keyed ${HOSTILE}`, exact: true }).waitFor();
    expect(dialogs).toEqual([]);
    // The token left the address bar and the history: only the cookie holds it now.
    expect(page.url()).not.toContain('cnct_');
    await checkPage(page, 'connect-chooser', errors);
    await page.getByRole('link', { name: 'Gmail' }).click();
    await page.waitForURL((u) => u.origin === appOrigin);
    const back = new URL(page.url());
    expect(back.pathname).toBe('/done');
    expect(back.searchParams.get('from')).toBe('connect');
    expect(back.searchParams.get('status')).toBe('connected');
    const id = back.searchParams.get('connection_id') ?? '';
    expect(id).toMatch(/^conn_/);
    const connection = await callApi(daemon.base, 'GET', `/api/v1/connections/${id}`, key);
    expect(connection.json).toMatchObject({
      connector_type: 'gmail',
      status: 'active',
      user_id: 'user-1',
      tags: { team: 'blue' },
    });
    const executed = await callApi(daemon.base, 'POST', '/api/v1/proxy/execute', key, {
      connection_id: id,
      endpoint: 'get_profile',
      params: {},
    });
    expect(executed.status, executed.text).toBe(200);
    // PKCE: the code was exchanged with a verifier.
    expect(auth.tokenRequests.some((r) => r.grant_type === 'authorization_code' && r.code_verifier)).toBe(
      true,
    );
    expect(errors).toEqual([]);
    await context.close();
  });

  it('as a popup: the opener on an allowed origin gets the connection through openConnect', async () => {
    const url = await session({ end_user: { id: 'user-2' }, allowed_connectors: ['gmail'] });
    const { context, page: opener, errors } = await open();
    await opener.goto(`${appOrigin}/opener`);
    await opener.evaluate((u) => {
      (globalThis as unknown as { connectUrl: string }).connectUrl = u;
    }, url);
    const popupOpened = context.waitForEvent('page');
    await opener.getByRole('button', { name: 'Connect an account' }).click();
    const popup = await popupOpened;
    const popupErrors = consoleErrors(popup);
    // One connector: the chooser is skipped, the popup goes to the provider and back, posts, closes.
    await popup.waitForEvent('close', { timeout: 20_000 });
    await expect
      .poll(() => opener.locator('#events').textContent(), { timeout: 10_000 })
      .toContain('connected');
    const event = JSON.parse((await opener.locator('#events').textContent())?.trim() ?? '{}') as {
      type: string;
      connectionId: string;
    };
    expect(event.type).toBe('connected');
    const connection = await callApi(daemon.base, 'GET', `/api/v1/connections/${event.connectionId}`, key);
    expect(connection.json).toMatchObject({ user_id: 'user-2', status: 'active' });
    expect(errors).toEqual([]);
    expect(popupErrors).toEqual([]);
    await context.close();
  });

  it('an API key the service refuses is said so and saved nothing; a good one connects', async () => {
    const url = await session({
      end_user: { id: HOSTILE, display_name: `Eve ${HOSTILE}` },
      allowed_connectors: ['keyed'],
      return_url: `${appOrigin}/done`,
    });
    const { context, page, errors, dialogs } = await open();
    await page.goto(url);
    // One API-key connector: its form at once; the hostile names are text.
    const field = page.getByLabel('API key');
    await field.waitFor();
    await expect
      .poll(() => page.getByRole('heading', { level: 1 }).textContent())
      .toBe(`Connect Keyed ${HOSTILE}`);
    expect(await page.locator('.connect-who strong').textContent()).toBe(`Eve ${HOSTILE}`);
    expect(await page.locator('main script').count()).toBe(0);
    await checkPage(page, 'connect-api-key', errors);
    const before = await callApi(daemon.base, 'GET', '/api/v1/connections?connector_type=keyed', key);
    await field.fill('wrong-key');
    await page.getByRole('button', { name: 'Connect' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('refused this API key (HTTP 401). Nothing was saved.');
    expect(await page.locator('.connect-said').textContent()).toBe(`<b>bad key</b> ${HOSTILE}`);
    expect(keyedSaw).toContain('wrong-key');
    await checkPage(page, 'connect-api-key-refused', errors, 422);
    const after = await callApi(daemon.base, 'GET', '/api/v1/connections?connector_type=keyed', key);
    expect(after.json.connections).toEqual(before.json.connections);
    await page.getByLabel('API key').fill(GOOD_KEY);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.waitForURL((u) => u.origin === appOrigin);
    const back = new URL(page.url());
    expect(back.searchParams.get('status')).toBe('connected');
    const connection = await callApi(
      daemon.base,
      'GET',
      `/api/v1/connections/${back.searchParams.get('connection_id') ?? ''}`,
      key,
    );
    expect(connection.json).toMatchObject({ connector_type: 'keyed', status: 'active', user_id: HOSTILE });
    expect(dialogs).toEqual([]);
    expect(errors.filter((e) => !e.includes('status of 422'))).toEqual([]);
    await context.close();
  });

  it('a used link and an expired one show a 4xx page that says so', async () => {
    const url = await session({ end_user: { id: 'user-3' }, allowed_connectors: ['keyed'] });
    const { context, page, errors } = await open();
    await page.goto(url);
    await page.getByLabel('API key').fill(GOOD_KEY);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('heading', { name: 'Connected' }).waitFor();
    // No return_url: the result step stays, and says so.
    await checkPage(page, 'connect-result', errors);
    // Used: the same link again. Expired: a session whose time is up (set in the database).
    const old = await session({ end_user: { id: 'user-4' }, allowed_connectors: ['keyed'] });
    await daemon.store.database.query(
      "update connect_sessions set expires_at = now() - interval '1 minute' where end_user_id = 'user-4'",
    );
    for (const [link, heading, name] of [
      [url, 'This link has been used', 'connect-used'],
      [old, 'This link has expired', 'connect-expired'],
    ] as const) {
      const visit = await open();
      const statuses: number[] = [];
      visit.page.on('response', (response) => {
        if (response.url().startsWith(`${daemon.base}/connect`)) statuses.push(response.status());
      });
      await visit.page.goto(link);
      await visit.page.getByRole('heading', { name: heading }).waitFor();
      expect(statuses).toContain(410);
      await checkPage(visit.page, name, visit.errors, 410);
      await visit.context.close();
    }
    await context.close();
  });

  it("docs/connect.md's TypeScript works as written: the backend's session, the browser's popup", async () => {
    expect(DOC_BACKEND).toContain("from '@connectr/sdk'");
    expect(DOC_BROWSER).toContain("from '@connectr/sdk/connect'");
    // Inside the checkout (.tmp/ is ignored by git), importing the SDK's source for '@connectr/sdk'.
    mkdirSync(join(root, '.tmp'), { recursive: true });
    const dir = mkdtempSync(join(root, '.tmp', 'connect-docs-'));
    cleanups.push(() => {
      rmSync(dir, { recursive: true, force: true });
      return undefined;
    });
    const file = join(dir, 'backend.ts');
    writeFileSync(
      file,
      DOC_BACKEND.replace("'@connectr/sdk'", `'${join(root, 'sdk/typescript/src/index.ts')}'`),
    );
    process.env.CONNECTR_URL = daemon.base;
    process.env.CONNECTR_API_KEY = key;
    try {
      const backend = (await import(file)) as { connectUrlFor: (userId: string) => Promise<string> };
      connectUrlFor = backend.connectUrlFor;
    } finally {
      delete process.env.CONNECTR_URL;
      delete process.env.CONNECTR_API_KEY;
    }
    const { context, page, errors } = await open();
    await page.goto(`${appOrigin}/docs-app`);
    const popupOpened = context.waitForEvent('page');
    await page.getByRole('button', { name: 'Connect Gmail' }).click();
    const popup = await popupOpened;
    await popup.waitForEvent('close', { timeout: 20_000 });
    await expect
      .poll(() => page.getByRole('status').textContent(), { timeout: 10_000 })
      .toMatch(/^Connected: conn_/);
    const id = (await page.getByRole('status').textContent())?.replace('Connected: ', '') ?? '';
    const connection = await callApi(daemon.base, 'GET', `/api/v1/connections/${id}`, key);
    expect(connection.json).toMatchObject({
      user_id: 'docs-user',
      connector_type: 'gmail',
      status: 'active',
    });
    expect(errors).toEqual([]);
    await context.close();
  });
});
