import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SKIP_BROWSER,
  accessibilityViolations,
  consoleErrors,
  launchBrowser,
  screenshots,
} from '../helpers/browser.js';
import type { TestBrowser } from '../helpers/browser.js';
import { KEYED_CONNECTOR } from '../helpers/keyed-connector.js';
import { PGLITE } from '../helpers/server-store.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * The admin console in Debian's Chromium: signed in by label and role, a key created (shown
 * once) and revoked through the dialog (401 at once), a connection's page and its Re-authorise
 * button, CSRF refused when the hidden field is edited, hostile values shown as text, the
 * keyboard path, axe on every page, no console error, screenshots at 375 and 1280 px.
 */

const HOSTILE = '<script>alert(1)</script>';
const HOSTILE_CONNECTOR = KEYED_CONNECTOR.replace('name: keyed', 'name: hostile').replace(
  'display_name: Keyed',
  `display_name: "${HOSTILE}"`,
);

describe.skipIf(SKIP_BROWSER !== false)('the admin console in Chromium', () => {
  let daemon: TestDaemon;
  let browser: TestBrowser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let admin: string;
  let gmail: string;
  let webhook: string;
  const dialogs: string[] = [];
  /** Requests the pages sent away from the daemon (the provider's sign-in page, answered here). */
  const outside: string[] = [];

  beforeAll(async () => {
    daemon = await withServer({
      backend: PGLITE,
      listen: true,
      connectors: { keyed: KEYED_CONNECTOR, hostile: HOSTILE_CONNECTOR },
      app: { webhooks: false },
    });
    const projectId = await daemon.project();
    admin = await daemon.key(projectId, { name: 'admin' });
    const db = daemon.store.database;
    await daemon.oauthApp(projectId, 'gmail', 'console-client', 'console-secret');
    gmail = await daemon.connection(projectId, { connector: 'gmail', name: 'Support inbox' });
    await db.query(
      "update connections set status = 'active', user_id = 'user-42', last_used_at = now(), last_checked_at = now() where id = $1",
      [gmail],
    );
    const hostile = await daemon.connection(projectId, { connector: 'hostile', name: HOSTILE });
    await db.query(
      "update connections set status = 'needs_reauth', user_id = $1, last_error = $2, last_error_code = 'refresh_rejected', last_checked_at = now() where id = $3",
      [HOSTILE, `provider said ${HOSTILE}`, hostile],
    );
    await daemon.connection(projectId, { connector: 'keyed', name: 'Billing API' });
    for (let i = 0; i < 12; i++) {
      await db.query(
        `insert into call_logs (at, project_id, connection_id, connector, kind, endpoint, status, duration_ms, request_id, error_code)
         values (now() - ($1 || ' minutes')::interval, $2, $3, $4, 'execute', $5, $6, $7, $8, $9)`,
        [
          String(i * 7),
          projectId,
          i % 3 === 0 ? hostile : gmail,
          i % 3 === 0 ? 'hostile' : 'gmail',
          i % 3 === 0 ? 'search' : 'messages.list',
          i % 4 === 0 ? 500 : 200,
          40 + i * 13,
          `req-${i}`,
          i % 4 === 0 ? 'upstream' : null,
        ],
      );
    }
    await db.query('update connections set last_refresh_at = now() where id = $1', [gmail]);
    const auth = { authorization: `Bearer ${admin}` };
    const created = await daemon.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks',
      headers: auth,
      payload: { url: 'https://hooks.example.com/connectr', description: 'Orders service' },
    });
    webhook = created.json<{ id: string }>().id;
    await daemon.app.inject({ method: 'POST', url: `/api/v1/webhooks/${webhook}/test`, headers: auth });

    browser = await launchBrowser();
    context = await browser.context();
    // Nothing leaves 127.0.0.1: the provider's page is answered here, and noted.
    await context.route(
      (url) => !url.href.startsWith(daemon.base),
      async (route) => {
        outside.push(route.request().url());
        await route.fulfill({ status: 200, contentType: 'text/plain', body: 'provider sign-in page' });
      },
    );
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    errors = consoleErrors(page);
  }, 120_000);

  afterAll(async () => {
    await browser.close();
    await daemon.close();
  });

  /** What a person reads in `locator`: its text, the layout's whitespace collapsed. */
  const read = async (locator: { textContent(): Promise<string | null> }): Promise<string> =>
    ((await locator.textContent()) ?? '').replace(/\s+/g, ' ').trim();

  /**
   * Chromium logs an answer of 4xx as a failed resource; a refusal the test asked for is that
   * one line, and nothing else may be in the log.
   */
  function expectRefusal(status: number): void {
    expect(errors).toEqual([
      `Failed to load resource: the server responded with a status of ${status} (${status === 401 ? 'Unauthorized' : 'Forbidden'})`,
    ]);
    errors.length = 0;
  }

  async function check(name: string): Promise<void> {
    expect(await accessibilityViolations(page), name).toEqual([]);
    // At a phone's width only the tables scroll sideways, never the page.
    await page.setViewportSize({ width: 375, height: 800 });
    expect(await page.evaluate<number>('document.documentElement.scrollWidth'), name).toBeLessThanOrEqual(
      375,
    );
    await page.setViewportSize({ width: 1280, height: 800 });
    await screenshots(page, `console-${name}`);
    expect(errors, name).toEqual([]);
  }

  it('signs in with an API key typed into the form', async () => {
    await page.goto(`${daemon.base}/console`);
    await check('sign-in');
    await page.getByLabel('API key').fill('cnr_aaaaaaaa_' + 'A'.repeat(43));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => read(page.getByRole('alert'))).toContain('not valid');
    expectRefusal(401);
    await page.getByLabel('API key').fill(admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${daemon.base}/console/connections`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Connections');
    await check('connections');
  }, 60_000);

  it('shows hostile names, user ids, display names and errors as text, running nothing', async () => {
    await page.goto(`${daemon.base}/console/connections`);
    const table = page.getByRole('table');
    expect(await table.getByText(HOSTILE, { exact: true }).count()).toBeGreaterThanOrEqual(2);
    expect(await table.getByText(`provider said ${HOSTILE}`).count()).toBe(1);
    expect(await page.getByLabel('Connector').locator('option', { hasText: HOSTILE }).count()).toBe(1);
    expect(await page.locator('script:not([src])').count()).toBe(0);
    expect(dialogs).toEqual([]);
  }, 30_000);

  it('filters the connections with the form', async () => {
    await page.goto(`${daemon.base}/console/connections`);
    await page.getByLabel('Status').selectOption('needs_reauth');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/status=needs_reauth/);
    expect(await page.getByRole('link', { name: 'Support inbox' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: HOSTILE }).count()).toBe(1);
    await page.getByLabel('User id').fill('user-42');
    await page.getByLabel('Status').selectOption('');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/user_id=user-42/);
    expect(await page.getByRole('link', { name: 'Support inbox' }).count()).toBe(1);
    expect(await page.getByRole('link', { name: HOSTILE }).count()).toBe(0);
    expect(errors).toEqual([]);
  }, 30_000);

  it("opens a connection's page with its calls, and re-authorises it through the Connect page at the provider", async () => {
    await page.goto(`${daemon.base}/console/connections`);
    await page.getByRole('link', { name: 'Support inbox' }).click();
    await page.waitForURL(`${daemon.base}/console/connections/${gmail}`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Support inbox');
    expect(await page.getByRole('table').getByText('messages.list').count()).toBeGreaterThan(0);
    await check('connection');
    // The Connect page for the connection, which goes on to its one connector's sign-in.
    await page.getByRole('button', { name: 'Re-authorise' }).click();
    await expect.poll(() => outside.length, { timeout: 10_000 }).toBe(1);
    // The provider's page (answered by the route above) is the one shown before the next test.
    await page.waitForURL(/^https:\/\/accounts\.google\.com\//, { waitUntil: 'commit' });
    const to = new URL(outside[0] ?? '');
    expect(to.searchParams.get('client_id')).toBe('console-client');
    expect(to.searchParams.get('state')).toBeTruthy();
    expect(to.searchParams.get('redirect_uri')).toBe(`${daemon.base}/api/v1/oauth/callback`);
  }, 30_000);

  it('creates a key shown once, and revokes it through the dialog: 401 at once', async () => {
    await page.goto(`${daemon.base}/console/connections`);
    await page.getByRole('navigation').getByRole('link', { name: 'API keys' }).click();
    await page.waitForURL(`${daemon.base}/console/keys`);
    await check('keys');
    await page.getByLabel('Name').fill('deploy bot');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = (await page.locator('#new-key').textContent())?.trim() ?? '';
    expect(shown).toMatch(/^cnr_[a-z2-7]{8}_[A-Za-z0-9_-]{43}$/);
    await check('key-created');
    const api = async (key: string) =>
      (await fetch(`${daemon.base}/api/v1/connections`, { headers: { authorization: `Bearer ${key}` } }))
        .status;
    expect(await api(shown)).toBe(200);
    await page.goto(`${daemon.base}/console/keys`);
    expect(await page.content()).not.toContain(shown);

    const row = page.getByRole('row').filter({ hasText: 'deploy bot' });
    await row.getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await read(dialog)).toContain('deploy bot');
    await check('revoke-dialog');
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => read(page.getByRole('status'))).toContain('Revoked API key “deploy bot”');
    expect(await api(shown)).toBe(401);
    expect(errors).toEqual([]);
  }, 60_000);

  it('refuses a form whose CSRF field was edited, and creates nothing', async () => {
    await page.goto(`${daemon.base}/console/keys`);
    await page.getByLabel('Name').fill('forged key');
    await page.evaluate(
      'document.querySelector(\'form[action="/console/keys"] input[name="csrf"]\').value = \'forged\'',
    );
    const answer = page.waitForResponse(
      (r) => r.url().endsWith('/console/keys') && r.request().method() === 'POST',
    );
    await page.getByRole('button', { name: 'Create key' }).click();
    expect((await answer).status()).toBe(403);
    expect(await read(page.getByRole('alert'))).toContain('Nothing was changed');
    expectRefusal(403);
    await check('csrf-refused');
    await page.goto(`${daemon.base}/console/keys`);
    expect(await page.getByRole('row').filter({ hasText: 'forged key' }).count()).toBe(0);
  }, 30_000);

  it('shows the OAuth apps, webhooks with their deliveries, and the metrics', async () => {
    await page.goto(`${daemon.base}/console/connections`);
    await page.getByRole('link', { name: 'OAuth apps' }).click();
    await page.waitForURL(`${daemon.base}/console/oauth-apps`);
    expect(await page.getByRole('table').locator('code', { hasText: 'console-client' }).count()).toBe(1);
    expect(await page.content()).not.toContain('console-secret');
    await check('oauth-apps');

    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.waitForURL(`${daemon.base}/console/webhooks`);
    await check('webhooks');
    await page.getByRole('link', { name: 'https://hooks.example.com/connectr' }).click();
    await page.waitForURL(`${daemon.base}/console/webhooks/${webhook}`);
    await check('webhook');
    await page
      .getByRole('button', { name: /^Redeliver/ })
      .first()
      .click();
    await expect.poll(() => read(page.getByRole('status'))).toContain('queued for delivery again');

    await page.getByRole('link', { name: 'Metrics' }).click();
    await page.waitForURL(`${daemon.base}/console/metrics`);
    expect(await page.getByRole('img', { name: 'Calls per connector', exact: true }).count()).toBe(1);
    expect(await page.getByRole('table', { name: 'Failed calls per connector' }).count()).toBe(1);
    await check('metrics');
  }, 60_000);

  it('is usable with the keyboard: Tab reaches the skip link, the navigation and the forms', async () => {
    await page.goto(`${daemon.base}/console/connections`);
    const reached: string[] = [];
    for (let i = 0; i < 14; i++) {
      await page.keyboard.press('Tab');
      reached.push(
        await page.evaluate<string>(
          `(() => {
            const el = document.activeElement;
            if (!el) return '';
            const label = el.id ? document.querySelector('label[for="' + el.id + '"]')?.textContent : null;
            return el.tagName.toLowerCase() + ':' + (label ?? el.textContent ?? '').trim();
          })()`,
        ),
      );
    }
    for (const expected of [
      'a:Skip to content',
      'a:Connections',
      'a:API keys',
      'a:OAuth apps',
      'a:Webhooks',
      'a:Metrics',
      'button:Sign out',
      'select:Connector',
      'input:User id',
      'button:Filter',
    ])
      expect(reached, expected).toContain(expected);
  }, 30_000);

  it('confirms a revocation on a page of its own without JavaScript', async () => {
    const noScript = await browser.context({ javaScriptEnabled: false });
    try {
      const plain = await noScript.newPage();
      plain.setDefaultTimeout(15_000);
      const plainErrors = consoleErrors(plain);
      await plain.goto(`${daemon.base}/console`);
      await plain.getByLabel('API key').fill(admin);
      await plain.getByRole('button', { name: 'Sign in' }).click();
      await plain.waitForURL(`${daemon.base}/console/connections`);
      await plain.goto(`${daemon.base}/console/keys`);
      await plain.getByLabel('Name').fill('no-js key');
      await plain.getByRole('button', { name: 'Create key' }).click();
      const secret = (await plain.locator('#new-key').textContent())?.trim() ?? '';
      await plain
        .getByRole('row')
        .filter({ hasText: 'no-js key' })
        .getByRole('button', { name: 'Revoke' })
        .click();
      await plain.waitForURL(/\/revoke\??$/);
      expect(await plain.getByRole('heading', { level: 1 }).textContent()).toContain('no-js key');
      // axe runs in the page: the same page, checked where scripts run.
      await page.goto(plain.url());
      await check('revoke-confirm');
      await plain.getByRole('button', { name: 'Revoke' }).click();
      await expect.poll(() => read(plain.getByRole('status'))).toContain('Revoked');
      const status = (
        await fetch(`${daemon.base}/api/v1/connections`, { headers: { authorization: `Bearer ${secret}` } })
      ).status;
      expect(status).toBe(401);
      expect(plainErrors).toEqual([]);
    } finally {
      await noScript.close();
    }
  }, 60_000);

  it('signs out', async () => {
    await page.goto(`${daemon.base}/console/keys`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${daemon.base}/console`);
    expect(await page.getByRole('button', { name: 'Sign in' }).count()).toBe(1);
    await page.goto(`${daemon.base}/console/keys`);
    expect(page.url()).toBe(`${daemon.base}/console`);
    expect(errors).toEqual([]);
  }, 30_000);
});
