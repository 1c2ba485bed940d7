import type { Server } from 'node:net';
import { Writable } from 'node:stream';
import { loadRegistry } from '../../src/core/connector/registry.js';
import type { Registry } from '../../src/core/connector/registry.js';
import { ConnectrError } from '../../src/core/errors.js';
import type { AppOptions } from '../../src/server/app.js';
import { buildApp } from '../../src/server/app.js';
import type { ApiKeyIdentity, ApiKeyVerifier, Readiness, ServerDeps } from '../../src/server/contracts.js';
import { depsOf } from '../../src/server/contracts.js';
import { createApiKey } from '../../src/server/store/api-keys.js';
import { openServerStore } from '../../src/server/store/open.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { ensureProject } from '../../src/server/store/projects.js';
import type { App } from '../../src/server/types.js';
import type { BackendVariant } from '../helpers/server-store.js';
import { memorySecrets, newKey } from '../helpers/server-store.js';

/**
 * TEST DOUBLE of the store's API keys: an in-memory verifier, so the HTTP layer is tested
 * before (and apart from) the database. A later landing runs the same tests on the real store.
 */
export class InMemoryApiKeysTestDouble implements ApiKeyVerifier {
  private readonly keys = new Map<string, ApiKeyIdentity & { revoked: boolean }>();
  readonly seen: string[] = [];

  add(secret: string, identity: Partial<ApiKeyIdentity> = {}): void {
    this.keys.set(secret, {
      keyId: identity.keyId ?? `key-${this.keys.size + 1}`,
      projectId: identity.projectId ?? 'default',
      allowToken: identity.allowToken ?? false,
      scope: identity.scope ?? 'project',
      revoked: false,
    });
  }

  revoke(secret: string): void {
    const key = this.keys.get(secret);
    if (key) key.revoked = true;
  }

  verify(secret: string): Promise<ApiKeyIdentity | undefined> {
    this.seen.push(secret);
    const key = this.keys.get(secret);
    if (!key || key.revoked) return Promise.resolve(undefined);
    const { revoked: _revoked, ...identity } = key;
    return Promise.resolve(identity);
  }
}

/** Readiness the test switches: ready, or failing with a ConnectrError('unavailable'), or hanging. */
export class SwitchableReadiness implements Readiness {
  state: 'ready' | 'down' | 'hang' | 'crash' = 'ready';
  ready(): Promise<void> {
    switch (this.state) {
      case 'ready':
        return Promise.resolve();
      case 'down':
        return Promise.reject(new ConnectrError('unavailable', 'the database does not answer'));
      case 'crash':
        return Promise.reject(new Error('socket hang up'));
      case 'hang':
        return new Promise(() => undefined);
    }
  }
}

let builtin: Promise<Registry> | undefined;
/** The real registry of the built-in connectors (loaded once per test file). */
export function builtinRegistry(): Promise<Registry> {
  builtin ??= loadRegistry({});
  return builtin;
}

/** Collects the app's pino lines, to grep them for secrets. */
export class LogCapture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
  lines(): Record<string, unknown>[] {
    return this.text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export const KEY = 'ck_test_0123456789abcdefghijklmnopqrstuv';

export interface TestServer {
  readonly app: App;
  readonly keys: InMemoryApiKeysTestDouble;
  readonly readiness: SwitchableReadiness;
  readonly logs: LogCapture;
  readonly auth: { authorization: string };
}

export async function testServer(
  options: AppOptions & { registry?: () => Promise<Registry> } = {},
): Promise<TestServer> {
  const keys = new InMemoryApiKeysTestDouble();
  keys.add(KEY);
  const readiness = new SwitchableReadiness();
  const logs = new LogCapture();
  const deps: ServerDeps = { registry: options.registry ?? builtinRegistry, apiKeys: keys, readiness };
  const app = await buildApp(deps, { log: { level: 'info', stream: logs }, ...options });
  return { app, keys, readiness, logs, auth: { authorization: `Bearer ${KEY}` } };
}

/** An answer of the server over a real socket: its status, text, the text as JSON (else {}), headers. */
export interface ApiAnswer {
  readonly status: number;
  readonly text: string;
  readonly json: Record<string, unknown>;
  readonly headers: Headers;
}

/** One request to the API at `base`, with the key as a bearer and `body` as JSON; redirects are not followed. */
export async function callApi(
  base: string,
  method: string,
  path: string,
  key: string | undefined,
  body?: unknown,
): Promise<ApiAnswer> {
  const response = await fetch(`${base}${path}`, {
    method,
    redirect: 'manual',
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON: an HTML page, NDJSON, nothing.
  }
  return { status: response.status, text, json, headers: response.headers };
}

/** Starts the app on a free port of 127.0.0.1; its base URL. */
export async function listenOnLoopback(app: {
  listen(options: { port: number; host: string }): Promise<string>;
  server: { address(): ReturnType<Server['address']> };
}): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('the app has no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

/** A real app on a real store, serving one project whose key holds one connection. */
export interface DaemonWithConnection {
  readonly app: App;
  readonly store: OpenedServerStore;
  readonly base: string;
  readonly key: string;
  /** The id of the connection made of `connector`, with `credential` stored. */
  readonly connection: string;
  /** Closes the app and the store, and removes the database. */
  close(): Promise<void>;
}

/**
 * Opens a fresh store of `variant`, makes a project and its API key, serves the app on
 * 127.0.0.1, and makes a connection of `connector` through the API with `credential` stored,
 * as a program using the daemon would.
 */
export async function daemonWithConnection(options: {
  readonly variant: BackendVariant;
  readonly registry: Registry;
  readonly env: Record<string, string>;
  readonly connector: string;
  readonly credential: Record<string, unknown>;
  readonly app?: AppOptions;
}): Promise<DaemonWithConnection> {
  const backend = await options.variant.fresh();
  const store = await openServerStore({
    env: { ...backend.env, CONNECTR_ENCRYPTION_KEY: newKey() },
    dataDir: backend.dataDir,
    secrets: memorySecrets(),
  });
  const project = (await ensureProject(store.db, 'test')).project;
  const key = (await createApiKey(store.db, { projectId: project.id, name: 'test' })).secret;
  const app = await buildApp(depsOf(store, options.registry, options.env), options.app);
  const base = await listenOnLoopback(app);
  const close = async (): Promise<void> => {
    await app.close();
    await store.close();
    backend.cleanup();
  };
  try {
    const created = await callApi(base, 'POST', '/api/v1/connections', key, {
      connector_type: options.connector,
      name: options.connector,
    });
    if (created.status !== 201) throw new Error(`creating the connection: ${created.text}`);
    const connection = String(created.json.id);
    const put = await callApi(
      base,
      'PUT',
      `/api/v1/connections/${connection}/credentials`,
      key,
      options.credential,
    );
    if (put.status >= 300) throw new Error(`storing its credential: ${put.text}`);
    return { app, store, base, key, connection, close };
  } catch (error) {
    await close();
    throw error;
  }
}
