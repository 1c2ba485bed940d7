import { loadRegistry } from '../../src/core/connector/registry.js';
import type { Registry } from '../../src/core/connector/registry.js';
import { ConnectrError } from '../../src/core/errors.js';
import type { AppOptions } from '../../src/server/app.js';
import { buildApp } from '../../src/server/app.js';
import type { ApiKeyIdentity, ApiKeyVerifier, Readiness, ServerDeps } from '../../src/server/contracts.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import type { App } from '../../src/server/types.js';
import { LogCapture, callApi, withServer } from '../helpers/server.js';
import type { BackendVariant } from '../helpers/server-store.js';

// The shared harness (test/helpers/server.ts) and what the suites here have long imported from it.
export { LogCapture, callApi, listenOnLoopback, withServer } from '../helpers/server.js';
export type { ApiAnswer, TestDaemon } from '../helpers/server.js';

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
  const daemon = await withServer({
    backend: options.variant,
    connectors: options.registry,
    env: options.env,
    app: options.app ?? {},
    listen: true,
  });
  const { app, store, base } = daemon;
  try {
    const key = await daemon.key(await daemon.project('test'));
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
    return { app, store, base, key, connection, close: () => daemon.close() };
  } catch (error) {
    await daemon.close();
    throw error;
  }
}
