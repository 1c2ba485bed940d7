import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadRegistry } from '../../src/core/connector/registry.js';
import type { Registry } from '../../src/core/connector/registry.js';
import type { AppOptions } from '../../src/server/app.js';
import { buildApp } from '../../src/server/app.js';
import type { ServerDeps } from '../../src/server/contracts.js';
import { depsOf } from '../../src/server/contracts.js';
import type { ApiKeyScope } from '../../src/server/contracts.js';
import { createApiKey } from '../../src/server/store/api-keys.js';
import { createConnection } from '../../src/server/store/connections.js';
import { putCredential } from '../../src/server/store/credentials.js';
import { putOAuthApp } from '../../src/server/store/oauth-apps.js';
import { openServerStore } from '../../src/server/store/open.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { ensureProject } from '../../src/server/store/projects.js';
import type { App } from '../../src/server/types.js';
import type { BackendVariant, FreshBackend } from './server-store.js';
import { memorySecrets, newKey } from './server-store.js';

/**
 * The one harness of the server suites: a real store on a fresh database of `backend`, the
 * registry (built-ins plus the suite's own definitions), the app built on them as `connectr
 * serve` builds it, optionally on a real socket of 127.0.0.1; and seeders for what a suite
 * puts in the database before its requests (projects, API keys, connections, OAuth apps).
 * `close()` undoes all of it, the second instances too.
 */

export interface ServerOptions {
  /** The database: PGLITE, or a fresh database on the run's PostgreSQL. */
  readonly backend: BackendVariant;
  /**
   * Definitions added to the built-in connectors, file name (without .yaml) to YAML; each must
   * be valid. Or a registry the suite made itself.
   */
  readonly connectors?: Readonly<Record<string, string>> | Registry;
  /** The daemon's environment (base URL overrides, OAuth apps, limits), as `serve` reads it. */
  readonly env?: Readonly<Record<string, string>>;
  /** Added to the store's environment (e.g. CONNECTR_CACHE_MS). */
  readonly storeEnv?: Readonly<Record<string, string>>;
  /** The caches' clock (CacheClock.now). */
  readonly cacheNow?: () => number;
  /** The server's clock (ServerDeps.now). */
  readonly now?: () => number;
  /** The app's options; its log goes to `logs` at `logLevel` unless `app.log` says otherwise. */
  readonly app?: AppOptions;
  /** Default: info. */
  readonly logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Where the log lines go (default: a LogCapture of its own). */
  readonly logs?: LogCapture;
  /** Serve on a free port of 127.0.0.1 (`base`). */
  readonly listen?: boolean;
  /** Providers' pushes: the recorder the test watches, the Gmail OIDC check (ServerDeps.providerEvents). */
  readonly providerEvents?: ServerDeps['providerEvents'];
}

export interface KeyOptions {
  readonly name?: string;
  readonly allowToken?: boolean;
  readonly scope?: ApiKeyScope;
}

export interface TestDaemon {
  readonly app: App;
  readonly store: OpenedServerStore;
  readonly registry: Registry;
  readonly backend: FreshBackend;
  readonly logs: LogCapture;
  /** `http://127.0.0.1:PORT` when `listen` was set, else ''. */
  readonly base: string;
  /** The CONNECTR_ENCRYPTION_KEY of the store (a second instance needs the same). */
  readonly encryptionKey: string;
  /** The daemon's environment, as passed to the app. */
  readonly env: Readonly<Record<string, string>>;
  /** The id of project `name`, made if missing. */
  project(name?: string): Promise<string>;
  /** A new API key of `projectId`: its secret. */
  key(projectId: string, options?: KeyOptions): Promise<string>;
  /** A new API key of `projectId`: its id and secret. */
  createKey(projectId: string, options?: KeyOptions): Promise<{ id: string; secret: string }>;
  /** A connection of `connector` made straight in the store, with `secret` stored when given. */
  connection(
    projectId: string,
    options: { connector: string; name?: string; secret?: unknown; expiresAt?: Date | null },
  ): Promise<string>;
  /** Saves an OAuth app of `connector` for `projectId` (sealed as the route seals it). */
  oauthApp(projectId: string, connector: string, clientId: string, clientSecret?: string): Promise<void>;
  /**
   * Another instance on the same database, with its own store, caches and app (as a second
   * `connectr serve` behind a load balancer); closed with this one.
   */
  another(options?: {
    readonly listen?: boolean;
    readonly cacheNow?: () => number;
    readonly app?: AppOptions;
  }): Promise<Instance>;
  /** Closes the app(s) and store(s), removes the database and the definitions. */
  close(): Promise<void>;
}

export interface Instance {
  readonly app: App;
  readonly store: OpenedServerStore;
  readonly base: string;
}

const LOG_LEVEL_DEFAULT = 'info';

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

/** A registry of the built-ins plus `files` written to a temporary folder (removed by `remove`). */
async function registryOf(
  connectors: ServerOptions['connectors'],
): Promise<{ registry: Registry; remove: () => void }> {
  if (connectors && 'connectors' in connectors && typeof connectors.get === 'function') {
    return { registry: connectors as Registry, remove: () => undefined };
  }
  const files = (connectors ?? {}) as Readonly<Record<string, string>>;
  if (Object.keys(files).length === 0) return { registry: await loadRegistry({}), remove: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'connectr-test-connectors-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    for (const [name, yaml] of Object.entries(files)) writeFileSync(join(dir, `${name}.yaml`), yaml);
    const registry = await loadRegistry({ extraDirs: [dir] });
    if (registry.invalid.length > 0) {
      throw new Error(`invalid test connectors: ${JSON.stringify(registry.invalid)}`);
    }
    return { registry, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

export async function withServer(options: ServerOptions): Promise<TestDaemon> {
  const logs = options.logs ?? new LogCapture();
  const env = options.env ?? {};
  const encryptionKey = newKey();
  const { registry, remove } = await registryOf(options.connectors);
  const instances: Instance[] = [];
  let backend: FreshBackend | undefined;
  const close = async (): Promise<void> => {
    for (const instance of instances.reverse()) {
      await instance.app.close();
      await instance.store.close();
    }
    instances.length = 0;
    backend?.cleanup();
    remove();
  };
  const open = async (settings: {
    listen: boolean;
    cacheNow: (() => number) | undefined;
    app: AppOptions;
  }): Promise<Instance> => {
    if (!backend) throw new Error('no backend');
    const store = await openServerStore({
      env: { ...backend.env, CONNECTR_ENCRYPTION_KEY: encryptionKey, ...options.storeEnv },
      dataDir: backend.dataDir,
      secrets: memorySecrets(),
      ...(settings.cacheNow ? { now: settings.cacheNow } : {}),
    });
    let app: App;
    try {
      const base = depsOf(store, registry, env);
      const deps: ServerDeps = {
        ...base,
        ...(options.now ? { now: options.now } : {}),
        ...(options.providerEvents
          ? { providerEvents: { ...base.providerEvents, ...options.providerEvents } }
          : {}),
      };
      app = await buildApp(deps, settings.app);
    } catch (error) {
      await store.close();
      throw error;
    }
    const instance = { app, store, base: '' };
    instances.push(instance);
    if (settings.listen) instance.base = await listenOnLoopback(app);
    return instance;
  };
  try {
    backend = await options.backend.fresh();
    const first = await open({
      listen: options.listen ?? false,
      cacheNow: options.cacheNow,
      app: { log: { level: options.logLevel ?? LOG_LEVEL_DEFAULT, stream: logs }, ...options.app },
    });
    const { store } = first;
    const createKey = async (
      projectId: string,
      o: KeyOptions = {},
    ): Promise<{ id: string; secret: string }> => {
      const made = await createApiKey(store.db, {
        projectId,
        name: o.name ?? 'test',
        ...(o.allowToken === undefined ? {} : { allowToken: o.allowToken }),
        ...(o.scope === undefined ? {} : { scope: o.scope }),
      });
      return { id: made.id, secret: made.secret };
    };
    return {
      app: first.app,
      store,
      registry,
      backend,
      logs,
      base: first.base,
      encryptionKey,
      env,
      project: async (name = 'default') => (await ensureProject(store.db, name)).project.id,
      createKey,
      key: async (projectId, o) => (await createKey(projectId, o)).secret,
      connection: async (projectId, o) => {
        const made = await createConnection(store.db, {
          projectId,
          connector: o.connector,
          name: o.name ?? o.connector,
        });
        if (o.secret !== undefined) {
          await putCredential(store.db, store.keys, {
            projectId,
            connectionId: made.id,
            secret: o.secret,
            expiresAt: o.expiresAt ?? null,
          });
        }
        return made.id;
      },
      oauthApp: (projectId, connector, clientId, clientSecret) =>
        putOAuthApp(store.db, store.keys, { projectId, connector, clientId, clientSecret }),
      another: (o = {}) =>
        open({
          listen: o.listen ?? false,
          cacheNow: o.cacheNow,
          app: { log: { level: 'silent', stream: { write: () => true } }, ...o.app },
        }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
