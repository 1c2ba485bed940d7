import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../src/core/connector/registry.js';
import { buildApp } from '../../src/server/app.js';
import { depsOf } from '../../src/server/contracts.js';
import { createApiKey } from '../../src/server/store/api-keys.js';
import { createConnection, updateConnection } from '../../src/server/store/connections.js';
import { putCredential } from '../../src/server/store/credentials.js';
import { openServerStore } from '../../src/server/store/open.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { ensureProject } from '../../src/server/store/projects.js';
import type { App } from '../../src/server/types.js';
import { runBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { PGLITE, memorySecrets, newKey } from '../helpers/server-store.js';
import type { FreshBackend } from '../helpers/server-store.js';
import { LogCapture, callApi, listenOnLoopback } from './helpers.js';

/**
 * An upstream answering a status HTTP does not define (600 to 999: three digits, which
 * parsers accept) made the raw proxy a 500 (Fastify refuses to send such a status). It is the
 * upstream's fault: a 502 `upstream` naming the status, through the raw proxy, execute and
 * `connectr call` (exit code 4) alike. Node's HTTP server cannot send such a status, so the
 * upstream here writes its answer on a plain socket.
 */

const ACME = `name: acme
display_name: Acme
version: 1
docs_url: https://example.com/docs
description: Test.
hosts:
  api: https://api.example.com
auth:
  type: api_key
  in: header
  name: X-Api-Key
  env: ACME_API_KEY
endpoints:
  me:
    summary: Who am I.
    method: GET
    path: /me
`;

const KEY = 'acme-upstream-key-SECRET-7';

/** A raw HTTP/1.1 upstream: answers every request with `status`, a tiny JSON body. */
class RawUpstream {
  status = 600;
  requests = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server = createServer((socket) => {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      head = '';
      this.requests++;
      const body = '{"odd":true}';
      socket.write(
        `HTTP/1.1 ${this.status} Odd\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
    });
    socket.on('error', () => undefined);
  });
  url = '';
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const STATUSES = [600, 999];

describe('an upstream status beyond 599', () => {
  let backend: FreshBackend;
  let store: OpenedServerStore;
  let app: App;
  let base: string;
  let connectorsDir: string;
  let key = '';
  let connectionId = '';
  const upstream = new RawUpstream();
  const logs = new LogCapture();

  beforeAll(async () => {
    await upstream.start();
    connectorsDir = mkdtempSync(join(tmpdir(), 'connectr-status-'));
    writeFileSync(join(connectorsDir, 'acme.yaml'), ACME);
    const registry = await loadRegistry({ extraDirs: [connectorsDir] });
    expect(registry.invalid).toEqual([]);
    backend = await PGLITE.fresh();
    store = await openServerStore({
      env: { ...backend.env, CONNECTR_ENCRYPTION_KEY: newKey() },
      dataDir: backend.dataDir,
      secrets: memorySecrets(),
    });
    const projectId = (await ensureProject(store.db, 'default')).project.id;
    key = (await createApiKey(store.db, { projectId, name: 'a' })).secret;
    connectionId = (await createConnection(store.db, { projectId, connector: 'acme', name: 'acme' })).id;
    await putCredential(store.db, store.keys, { projectId, connectionId, secret: { api_key: KEY } });
    await updateConnection(store.db, projectId, connectionId, { status: 'active' });
    app = await buildApp(depsOf(store, registry, { CONNECTR_ACME_API_BASE_URL: upstream.url }), {
      log: { level: 'info', stream: logs },
    });
    base = await listenOnLoopback(app);
  }, 60_000);

  afterAll(async () => {
    await app.close();
    await store.close();
    await upstream.close();
    backend.cleanup();
    rmSync(connectorsDir, { recursive: true, force: true });
  });

  it('through the raw proxy: a 502 upstream naming the status', async () => {
    for (const status of STATUSES) {
      upstream.status = status;
      const before = upstream.requests;
      const answer = await callApi(base, 'GET', `/api/v1/connections/${connectionId}/proxy/me`, key);
      expect(upstream.requests).toBe(before + 1);
      expect(answer.status, answer.text).toBe(502);
      expect(answer.headers.get('x-connectr-error')).toBe('1');
      expect(answer.json).toMatchObject({ error: { code: 'upstream' } });
      expect((answer.json.error as { message: string }).message).toContain(String(status));
    }
    // A status HTTP defines still passes through as it is.
    upstream.status = 418;
    expect((await callApi(base, 'GET', `/api/v1/connections/${connectionId}/proxy/me`, key)).status).toBe(
      418,
    );
  });

  it('through execute: a 502 upstream naming the status', async () => {
    for (const status of STATUSES) {
      upstream.status = status;
      const answer = await callApi(base, 'POST', '/api/v1/proxy/execute', key, {
        connection_id: connectionId,
        endpoint: 'me',
      });
      expect(answer.status, answer.text).toBe(502);
      expect(answer.json).toMatchObject({ error: { code: 'upstream' } });
      expect((answer.json.error as { message: string }).message).toContain(String(status));
    }
  });

  it('through connectr call: exit code 4, naming the status', async () => {
    const home = tempHome();
    try {
      for (const status of STATUSES) {
        upstream.status = status;
        const result = await runBin(
          ['call', 'acme', 'me', '--connectors-dir', connectorsDir, '--retries', '0'],
          {
            ...home.env,
            ACME_API_KEY: KEY,
            CONNECTR_ACME_API_BASE_URL: upstream.url,
          },
        );
        expect(result.code, result.stderr).toBe(4);
        expect(result.stderr).toContain(String(status));
        expect(result.stderr).not.toMatch(/internal error|RangeError|at /);
      }
    } finally {
      home.cleanup();
    }
  }, 30_000);
});
