/**
 * A real `connectr serve` (PGlite, in a throw-away home) with the Gmail, Dropbox and OneDrive
 * emulators behind it, for the SDKs' own test suites (pytest, go test, vitest): they start it,
 * read one JSON line from its stdout, and end it by closing its stdin (or SIGTERM).
 *
 *   node --import tsx test/sdk/harness.ts
 *   → {"url": "http://127.0.0.1:PORT", "api_key": "cnr_…", "token_key": "cnr_…",
 *      "other_key": "cnr_…", "metrics_key": "cnr_…", "connections": {"gmail": "conn_…", "dropbox": "…", "onedrive": "…"},
 *      "tokens": {"gmail": "…", "dropbox": "…", "onedrive": "…"}, "local_env": {…},
 *      "requests_url": "http://127.0.0.1:PORT/requests", "oauth_redirect_uri": "http://127.0.0.1:3000/callback"}
 *
 * `api_key` sees the connections (project "default"); `token_key` is the same project's key
 * created with --allow-token; `other_key` is another project's key (its calls to these
 * connections are 404s); `metrics_key` reads GET /metrics and nothing else (`--scope metrics`). Each connection is signed in with the access token in `tokens`, which
 * its emulator accepts. The Gmail mailbox holds 7 messages, 4 of them unread (`q: "is:unread"` finds them);
 * Dropbox holds /docs/hello.txt ("hello from dropbox\n") and a folder /docs; OneDrive holds
 * hello.txt ("hello from onedrive\n") in its root. Everything runs on 127.0.0.1.
 *
 * `local_env` is the environment of a local CLI whose default account of each connector is
 * signed in with the same tokens (stored by the code `connectr auth` stores with, in the
 * encrypted file store): what the TypeScript SDK's LocalClient runs with.
 *
 * `requests_url` answers GET with how many requests each emulator has received so far,
 * {"gmail": n, "dropbox": n, "onedrive": n}: a test reads it before and after a call to assert
 * that a refused input sent nothing upstream.
 *
 * Gmail's browser sign-in goes to a real, strict authorization server (oidc-provider: PKCE
 * required, codes single-use, any login and password at its sign-in form), with the daemon's
 * environment app (GMAIL_CLIENT_ID); `oauth_redirect_uri` is an app's redirect URI it accepts
 * (any port on 127.0.0.1, path /callback). The Gmail emulator accepts the access tokens it issues.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startDropboxEmulator } from '../fixtures/emulators/dropbox.js';
import { startGmailEmulator } from '../fixtures/emulators/gmail.js';
import { startGraphEmulator } from '../fixtures/emulators/graph.js';
import { saveLogin } from '../../src/core/auth/save-login.js';
import { systemClock } from '../../src/core/clock.js';
import { loadRegistry } from '../../src/core/connector/registry.js';
import { MetadataStore } from '../../src/core/credentials/metadata.js';
import { Vault } from '../../src/core/credentials/vault.js';
import { resolvePaths } from '../../src/core/paths.js';
import { coreSettings } from '../../src/core/settings/core.js';
import { tempHome } from '../helpers/home.js';
import { BROWSER_CLIENTS, startOidcServer } from '../helpers/oidc-server.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'connectr.cjs');
const TOKENS = { gmail: 'sdk-gmail-token', dropbox: 'sdk-dropbox-token', onedrive: 'sdk-onedrive-token' };

function keyCreate(env: NodeJS.ProcessEnv, args: string[]): string {
  const made = spawnSync(process.execPath, [BIN, 'serve', 'keys', 'create', '--json', ...args], {
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (made.status !== 0) throw new Error(`serve keys create failed: ${made.stderr}`);
  return (JSON.parse(made.stdout) as { key: string }).key;
}

async function listening(server: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`connectr serve did not start: ${text}`)), 120_000);
    server.stderr?.on('data', (chunk: Buffer) => {
      if (text.length < 100_000) text += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(text);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`connectr serve exited with ${String(code)}: ${text}`));
    });
  });
}

/** Signs in the local CLI's default account of each connector, as `connectr auth` would store it. */
async function signInLocally(env: Record<string, string>): Promise<void> {
  const paths = resolvePaths(env);
  const passphrase = env.CONNECTR_VAULT_PASSPHRASE ?? '';
  const settings = coreSettings(env);
  const deps = {
    env,
    settings,
    paths,
    clock: systemClock,
    http: { env },
    vault: new Vault({ settings, paths, passphrase: () => Promise.resolve(passphrase) }),
    metadata: new MetadataStore(paths),
    notify: () => undefined,
  };
  const registry = await loadRegistry();
  for (const [name, token] of Object.entries(TOKENS)) {
    await saveLogin(
      registry.require(name),
      'default',
      'authorization_code',
      { access_token: token, token_type: 'Bearer', expires_in: 3600, refresh_token: `${token}-refresh` },
      { clientId: 'sdk-harness-client' },
      { scopes: [], insecureStorage: false },
      deps,
    );
  }
}

async function main(): Promise<void> {
  const home = tempHome();
  const oidc = await startOidcServer();
  const oauthClient = BROWSER_CLIENTS[0];
  if (!oauthClient) throw new Error('the OIDC helper has no browser client');
  // Every access token the provider issues is a Gmail token: the emulator accepts it.
  const issued = new Set<string>();
  const watchTokens = (): void => {
    oidc.onceTokenResponse((response) => {
      if (typeof response.body.access_token === 'string') issued.add(response.body.access_token);
      watchTokens();
    });
  };
  watchTokens();
  const gmail = await startGmailEmulator({ acceptToken: (t) => t === TOKENS.gmail || issued.has(t) });
  const dropbox = await startDropboxEmulator({ token: TOKENS.dropbox });
  const graph = await startGraphEmulator({ token: TOKENS.onedrive });
  dropbox.addFolder('/docs');
  dropbox.addFile('/docs/hello.txt', Buffer.from('hello from dropbox\n'));
  graph.addFile('01ROOTID', 'hello.txt', Buffer.from('hello from onedrive\n'));
  const counts = (): Record<string, number> => ({
    gmail: gmail.requests.length,
    dropbox: dropbox.api.requests.length + dropbox.content.requests.length,
    onedrive: graph.graph.requests.length + graph.uploads.requests.length + graph.downloads.requests.length,
  });
  const control = createServer((req, res) => {
    const found = req.method === 'GET' && req.url === '/requests';
    res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(found ? counts() : { error: 'GET /requests is the only route' }));
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  const requestsUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}/requests`;

  const env: NodeJS.ProcessEnv = {
    ...home.env,
    CONNECTR_STORE: 'file',
    CONNECTR_VAULT_PASSPHRASE: 'sdk-harness-passphrase',
    CONNECTR_GMAIL_API_BASE_URL: gmail.url,
    CONNECTR_DROPBOX_API_BASE_URL: dropbox.api.url,
    CONNECTR_DROPBOX_CONTENT_BASE_URL: dropbox.content.url,
    CONNECTR_ONEDRIVE_GRAPH_BASE_URL: graph.baseUrl,
    CONNECTR_ONEDRIVE_REDIRECT_HOSTS: `${graph.downloads.url},${graph.uploads.url}`,
  };
  // The daemon's only: the local CLI's environment (local_env) keeps Gmail's own endpoints.
  const serveEnv: NodeJS.ProcessEnv = {
    ...env,
    ...oidc.envFor('gmail'),
    GMAIL_CLIENT_ID: oauthClient.id,
    GMAIL_CLIENT_SECRET: oauthClient.secret,
  };
  const apiKey = keyCreate(env, ['--name', 'sdk']);
  const tokenKey = keyCreate(env, ['--name', 'sdk-token', '--allow-token']);
  const otherKey = keyCreate(env, ['--name', 'sdk-other', '--project', 'other']);
  const metricsKey = keyCreate(env, ['--name', 'sdk-metrics', '--scope', 'metrics']);
  const server = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--log-level', 'warn'], {
    env: serveEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stopping = false;
  const stop = async (code = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
    control.closeAllConnections();
    await Promise.allSettled([
      gmail.close(),
      dropbox.close(),
      graph.close(),
      oidc.stop(),
      new Promise((resolve) => control.close(resolve)),
    ]);
    home.cleanup();
    process.exit(code);
  };
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());

  try {
    const url = await listening(server);
    const call = async (method: string, path: string, body: unknown): Promise<Record<string, unknown>> => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await response.json()) as Record<string, unknown>;
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
      return json;
    };
    const connections: Record<string, string> = {};
    for (const [connector, token] of Object.entries(TOKENS)) {
      const created = await call('POST', '/api/v1/connections', {
        connector_type: connector,
        name: `sdk ${connector}`,
        user_id: 'sdk-user',
      });
      const id = String(created.id);
      await call('PUT', `/api/v1/connections/${id}/credentials`, {
        access_token: token,
        refresh_token: `${token}-refresh`,
        expires_in: 3600,
      });
      connections[connector] = id;
    }
    const localEnv: Record<string, string> = {};
    for (const [name, value] of Object.entries(env)) if (value !== undefined) localEnv[name] = value;
    await signInLocally(localEnv);
    process.stdout.write(
      `${JSON.stringify({ url, api_key: apiKey, token_key: tokenKey, other_key: otherKey, metrics_key: metricsKey, connections, tokens: TOKENS, local_env: localEnv, requests_url: requestsUrl, oauth_redirect_uri: 'http://127.0.0.1:3000/callback' })}\n`,
    );
  } catch (error) {
    process.stderr.write(`sdk harness: ${error instanceof Error ? error.message : String(error)}\n`);
    await stop(1);
  }
}

void main();
