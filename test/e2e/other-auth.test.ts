import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { startAuthServer } from '../helpers/oauth-server.js';
import type { TestAuthServer } from '../helpers/oauth-server.js';
import { sendJson, startEmulator } from '../fixtures/emulators/server.js';
import type { Emulator } from '../fixtures/emulators/server.js';

/** Client credentials, API keys and passwords, with connectors a user would write. */
describe('other ways to sign in', () => {
  let auth: TestAuthServer;
  let api: Emulator;
  const home = tempHome();
  const dir = join(home.dir, 'connectors');
  let env: Record<string, string>;

  beforeAll(async () => {
    auth = await startAuthServer();
    api = await startEmulator((req, res) => {
      if (req.url.pathname === '/me') {
        const key = req.headers['x-api-key'];
        const basic = req.headers.authorization;
        if (key === 'k-123' || basic === `Basic ${Buffer.from('ann:pa55word').toString('base64')}`)
          sendJson(res, 200, { login: 'robot@example.com' });
        else if (key === 'k-forbidden') sendJson(res, 403, { message: 'forbidden' });
        else if (key === 'k-broken') sendJson(res, 503, { message: 'down for maintenance' });
        else sendJson(res, 401, { message: 'bad key' });
        return;
      }
      sendJson(res, 404, { message: 'not found' });
    });
    mkdirSync(dir, { recursive: true });
    const head = (name: string): string =>
      `name: ${name}\ndisplay_name: ${name}\nversion: 1\ndocs_url: https://example.com/docs\ndescription: Test.\nhosts:\n  api: ${api.url}\n`;
    const ping = 'endpoints:\n  me:\n    summary: Who am I.\n    method: GET\n    path: /me\n';
    writeFileSync(
      join(dir, 'machine.yaml'),
      `${head('machine')}auth:\n  type: oauth2\n  grants: [client_credentials]\n  token_url: https://auth.example.com/token\n  scopes: [jobs.read]\n${ping}`,
    );
    writeFileSync(
      join(dir, 'keyed.yaml'),
      `${head('keyed')}auth:\n  type: api_key\n  in: header\n  name: X-Api-Key\nidentity:\n  endpoint: me\n  path: login\n${ping}`,
    );
    writeFileSync(join(dir, 'passworded.yaml'), `${head('passworded')}auth:\n  type: basic\n${ping}`);
    writeFileSync(
      join(dir, 'checked.yaml'),
      `${head('checked')}auth:\n  type: basic\nidentity:\n  endpoint: me\n  path: login\n${ping}`,
    );
    env = {
      ...home.env,
      CONNECTR_STORE: 'file',
      CONNECTR_VAULT_PASSPHRASE: 'other auth passphrase',
      CONNECTR_MACHINE_TOKEN_URL: `${auth.issuer}/token`,
      MACHINE_CLIENT_ID: 'machine-client',
      MACHINE_CLIENT_SECRET: 'machine-secret',
    };
  });
  afterAll(async () => {
    await auth.stop();
    await api.close();
    home.cleanup();
  });

  it('client credentials: gets an app token, and a new one when it expires', async () => {
    auth.server.service.once('beforeResponse', (response: { body: Record<string, unknown> | string }) => {
      if (typeof response.body === 'object') response.body.expires_in = 1;
    });
    const r = await runBin(['auth', 'machine'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ grant: 'client_credentials', account: 'default' });
    expect(auth.tokenRequests.at(-1)).toMatchObject({ grant_type: 'client_credentials', scope: 'jobs.read' });
    const before = auth.tokenRequests.length;
    const token = await runBin(['token', 'machine'], env);
    expect(token.code, token.stderr).toBe(0);
    expect(auth.tokenRequests.length).toBe(before + 1);
    expect(auth.tokenRequests.at(-1)).toMatchObject({ grant_type: 'client_credentials' });
  });

  it('API key: reads it from stdin, learns the identity, and prints it back for scripts', async () => {
    const r = await runBin(['auth', 'keyed', '--with-token'], env, { input: 'k-123\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ auth_type: 'api_key', identity: 'robot@example.com' });
    expect(api.requests.at(-1)?.headers['x-api-key']).toBe('k-123');
    expect((await runBin(['token', 'keyed'], env)).stdout).toBe('k-123\n');
  });

  it('API key: without a terminal or --with-token, says how to pass it', async () => {
    const r = await runBin(['auth', 'keyed', '--account', 'other'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: no secret given and no terminal to ask for it');
    expect(r.stderr).toContain(
      'hint: pipe it in with --with-token, or set KEYED_API_KEY instead of signing in',
    );
  });

  it('basic auth: stores the user name and password', async () => {
    const r = await runBin(['auth', 'passworded', '--username', 'ann', '--with-token'], env, {
      input: 'pa55word\n',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ auth_type: 'basic', identity: 'ann' });
    const token = await runBin(['token', 'passworded'], env);
    expect(token.code).toBe(1);
    expect(token.stderr).toContain('error: passworded uses a user name and password, not a token');
  });

  /** The accounts stored for a connector, from `connectr accounts --json`. */
  async function accountsOf(connector: string): Promise<string[]> {
    const r = await runBin(['accounts', connector, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { account: string }[]).map((a) => a.account);
  }

  it('API key the API refuses (401 or 403): exit 3, nothing stored, the status and --no-verify named', async () => {
    for (const [key, status] of [
      ['k-wrong', '401'],
      ['k-forbidden', '403'],
    ] as const) {
      const r = await runBin(['auth', 'keyed', '--with-token', '--account', 'refused'], env, {
        input: `${key}\n`,
      });
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(
        `error: keyed refused the API key (HTTP ${status} from me); nothing was stored`,
      );
      expect(r.stderr).toMatch(/hint: .*--no-verify/);
      expect(r.stdout).toBe('');
      expect(`${r.stdout}${r.stderr}`).not.toContain(key);
      expect(await accountsOf('keyed')).not.toContain('refused');
    }
  });

  it('--no-verify stores the key without asking the API', async () => {
    const before = api.requests.length;
    const r = await runBin(['auth', 'keyed', '--with-token', '--no-verify', '--account', 'unchecked'], env, {
      input: 'k-wrong\n',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(api.requests.length).toBe(before);
    expect(JSON.parse(r.stdout)).toMatchObject({ account: 'unchecked', auth_type: 'api_key' });
    expect(JSON.parse(r.stdout)).not.toHaveProperty('identity');
    expect(await accountsOf('keyed')).toContain('unchecked');
  });

  it('an identity call that fails otherwise (5xx): the key is stored, with a note', async () => {
    const r = await runBin(['auth', 'keyed', '--with-token', '--account', 'maybe'], env, {
      input: 'k-broken\n',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('note: could not read who signed in (me answered HTTP 503)');
    expect(await accountsOf('keyed')).toContain('maybe');
  });

  it('basic auth with an identity endpoint: a refused password is not stored, a good one is', async () => {
    const bad = await runBin(['auth', 'checked', '--username', 'ann', '--with-token'], env, {
      input: 'wrong\n',
    });
    expect(bad.code, bad.stderr).toBe(3);
    expect(bad.stderr).toContain(
      'error: checked refused the user name and password (HTTP 401 from me); nothing was stored',
    );
    expect(bad.stderr).not.toContain('wrong');
    const good = await runBin(['auth', 'checked', '--username', 'ann', '--with-token'], env, {
      input: 'pa55word\n',
    });
    expect(good.code, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ auth_type: 'basic', identity: 'ann' });
  });

  it('a key in KEYED_API_KEY the API refuses: the hint names the variable; a stored key that is refused: connectr auth', async () => {
    const fromEnv = await runBin(['call', 'keyed', 'me'], { ...env, KEYED_API_KEY: 'k-stale' });
    expect(fromEnv.code, fromEnv.stderr).toBe(3);
    expect(fromEnv.stderr).toContain('error: keyed answered 401 Unauthorized: bad key');
    expect(fromEnv.stderr).toContain(
      'hint: the API refused the token in $KEYED_API_KEY: replace it or unset it',
    );
    expect(fromEnv.stderr).not.toContain('k-stale');
    const generic = await runBin(['call', 'keyed', 'me'], { ...env, CONNECTR_KEYED_TOKEN: 'k-stale' });
    expect(generic.code, generic.stderr).toBe(3);
    expect(generic.stderr).toContain('hint: the API refused the token in $CONNECTR_KEYED_TOKEN');
    const basic = await runBin(['call', 'passworded', 'me'], {
      ...env,
      PASSWORDED_USERNAME: 'ann',
      PASSWORDED_PASSWORD: 'stale-password',
    });
    expect(basic.code, basic.stderr).toBe(3);
    expect(basic.stderr).toContain(
      'hint: the API refused the user name and password in $PASSWORDED_USERNAME and $PASSWORDED_PASSWORD: replace them or unset them',
    );
    expect(basic.stderr).not.toContain('stale-password');
    // A stored key (--no-verify let a bad one in): signing in again is the fix.
    const stored = await runBin(['call', 'keyed', 'me', '--account', 'unchecked'], env);
    expect(stored.code, stored.stderr).toBe(3);
    expect(stored.stderr).toContain('hint: sign in again: connectr auth keyed');
  });
});
