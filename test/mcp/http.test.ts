import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../src/core/connector/registry.js';
import { buildApp } from '../../src/server/app.js';
import { depsOf } from '../../src/server/contracts.js';
import { createApiKey } from '../../src/server/store/api-keys.js';
import { createConnection } from '../../src/server/store/connections.js';
import { putCredential } from '../../src/server/store/credentials.js';
import { openServerStore } from '../../src/server/store/open.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { ensureProject } from '../../src/server/store/projects.js';
import type { App } from '../../src/server/types.js';
import { bearerOf } from '../fixtures/emulators/server.js';
import { tempHome } from '../helpers/home.js';
import type { FreshBackend } from '../helpers/server-store.js';
import { BACKENDS, memorySecrets, newKey, variantTitle } from '../helpers/server-store.js';
import { LogCapture, listenOnLoopback } from '../server/helpers.js';
import { protocolError, recordingCall, structured, textOf } from './helpers.js';
import { fixtureYaml, startUpstreams } from './upstreams.js';
import type { Upstreams } from './upstreams.js';

/**
 * `POST /mcp` on a real `connectr serve` app listening on 127.0.0.1, on PGlite and on
 * PostgreSQL, with connections and their credentials in the real store, through the SDK's
 * Streamable HTTP client (and by hand where the answer is not MCP: 401, 404, 405). The API
 * key's project bounds what the tools reach.
 */

const TOKEN = 'mcp-http-secret-token-a6f0d2';
const OTHER_TOKEN = 'mcp-http-other-project-token-3e9b';

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`POST /mcp on ${variantTitle(variant)}`, () => {
    let backend: FreshBackend;
    let store: OpenedServerStore;
    let up: Upstreams;
    let app: App;
    let base: string;
    let key: string;
    let otherKey: string;
    const ids = { gmail: '', dropbox: '', fixture: '', otherGmail: '' };
    let connectorNames: string[] = [];
    const home = tempHome();
    /** Every HTTP answer and every result the tests got, to search for the tokens. */
    const seen: string[] = [];
    const logs = new LogCapture();

    beforeAll(async () => {
      up = await startUpstreams(TOKEN, [OTHER_TOKEN]);
      const connectorsDir = join(home.dir, 'connectors');
      mkdirSync(connectorsDir);
      writeFileSync(join(connectorsDir, 'fixture.yaml'), fixtureYaml(up.fixture.url));
      backend = await variant.fresh();
      store = await openServerStore({
        env: { ...backend.env, CONNECTR_ENCRYPTION_KEY: newKey() },
        dataDir: backend.dataDir,
        secrets: memorySecrets(),
      });
      const project = (await ensureProject(store.db, 'default')).project.id;
      const other = (await ensureProject(store.db, 'other')).project.id;
      key = (await createApiKey(store.db, { projectId: project, name: 'mcp' })).secret;
      otherKey = (await createApiKey(store.db, { projectId: other, name: 'mcp-other' })).secret;
      const connect = async (projectId: string, connector: string, secret: unknown): Promise<string> => {
        const connection = await createConnection(store.db, { projectId, connector, name: connector });
        await putCredential(store.db, store.keys, {
          projectId,
          connectionId: connection.id,
          secret,
          expiresAt: new Date(Date.now() + 3600_000),
        });
        return connection.id;
      };
      const oauth = (token: string): unknown => ({
        access_token: token,
        token_type: 'Bearer',
        scopes: [],
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
      });
      ids.gmail = await connect(project, 'gmail', oauth(TOKEN));
      ids.dropbox = await connect(project, 'dropbox', oauth(TOKEN));
      ids.fixture = await connect(project, 'fixture', { api_key: TOKEN });
      ids.otherGmail = await connect(other, 'gmail', oauth(OTHER_TOKEN));
      const registry = await loadRegistry({ extraDirs: [connectorsDir] });
      connectorNames = registry.connectors.map((c) => c.name).sort();
      app = await buildApp(depsOf(store, registry, up.env), { log: { level: 'info', stream: logs } });
      base = await listenOnLoopback(app);
    }, 60_000);

    afterAll(async () => {
      await app.close();
      await store.close();
      await up.close();
      backend.cleanup();
      home.cleanup();
    });

    let sent: number;
    beforeEach(() => {
      sent = up.sent();
    });

    interface Session {
      readonly client: Client;
      call(name: string, args?: Record<string, unknown>, signal?: AbortSignal): Promise<CallToolResult>;
      close(): Promise<void>;
    }

    /** An MCP client session on POST /mcp`query`, with the key and extra headers. */
    async function session(query = '', headers: Record<string, string> = {}, apiKey = key): Promise<Session> {
      const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp${query}`), {
        requestInit: { headers: { authorization: `Bearer ${apiKey}`, ...headers } },
      });
      const client = new Client({ name: 'connectr-http-test', version: '1.0.0' });
      await client.connect(transport);
      // Stateless: no session id comes back.
      expect(transport.sessionId).toBeUndefined();
      return {
        client,
        call: recordingCall(client, seen),
        close: () => client.close(),
      };
    }

    /** One JSON-RPC message by hand: the HTTP status, body text and JSON. */
    async function post(
      message: unknown,
      options: {
        query?: string;
        headers?: Record<string, string>;
        apiKey?: string | null;
        method?: string;
      } = {},
    ): Promise<{ status: number; text: string; json: Record<string, unknown>; headers: Headers }> {
      const apiKey = options.apiKey === undefined ? key : options.apiKey;
      const method = options.method ?? 'POST';
      const response = await fetch(`${base}/mcp${options.query ?? ''}`, {
        method,
        headers: {
          accept: 'application/json, text/event-stream',
          ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
          ...(apiKey === null ? {} : { authorization: `Bearer ${apiKey}` }),
          ...options.headers,
        },
        ...(method === 'POST' ? { body: JSON.stringify(message) } : {}),
      });
      const text = await response.text();
      seen.push(text);
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // Not JSON.
      }
      return { status: response.status, text, json, headers: response.headers };
    }

    const INITIALIZE = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    };
    const callMessage = (name: string, args: Record<string, unknown> = {}): unknown => ({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name, arguments: args },
    });

    it('requires the API key: 401 without one or with a wrong one, nothing sent', async () => {
      for (const apiKey of [null, 'cnr_not_a_key', otherKey.slice(0, -1)]) {
        const r = await post(INITIALIZE, { apiKey });
        expect(r.status, r.text).toBe(401);
        expect(r.json).toMatchObject({
          jsonrpc: '2.0',
          error: { data: { code: 'auth_required' } },
        });
      }
      const call = await post(callMessage('gmail_get_profile', { connection_id: ids.gmail }), {
        apiKey: null,
      });
      expect(call.status).toBe(401);
      expect(up.sent()).toBe(sent);
    });

    it('with the connection chosen (Connection-Id): its connector’s tools, called with its credential', async () => {
      const s = await session('', { 'Connection-Id': ids.gmail });
      try {
        const { tools } = await s.client.listTools();
        expect(tools.length).toBeGreaterThan(5);
        expect(tools.every((t) => t.name.startsWith('gmail_'))).toBe(true);
        // No connection argument: the session has one.
        for (const tool of tools)
          expect(Object.keys(tool.inputSchema.properties ?? {})).not.toContain('connection_id');
        const before = up.gmail.requests.length;
        const profile = await s.call('gmail_get_profile');
        expect(structured(profile)).toMatchObject({ emailAddress: 'ann@example.com' });
        expect(up.gmail.requests.slice(before).map(bearerOf)).toEqual([TOKEN]);
        // Pagination and upstream errors as on stdio.
        const page = structured(await s.call('gmail_list_messages', { maxResults: 2 }));
        const next = await s.call('gmail_list_messages', { maxResults: 2, cursor: page.next_cursor });
        expect(next.isError).toBeFalsy();
        expect(up.gmail.requests.at(-1)?.url.searchParams.get('pageToken')).toBe(page.nextPageToken);
        const missing = await s.call('gmail_get_message', { id: 'nope' });
        expect(missing.isError).toBe(true);
        expect(structured(missing)).toMatchObject({ error: { status: 404 } });
      } finally {
        await s.close();
      }
    });

    it('the connection in ?connection_id= or the connection_id header works the same', async () => {
      for (const s of [
        await session(`?connection_id=${ids.dropbox}`),
        await session('', { connection_id: ids.dropbox }),
      ]) {
        try {
          const names = (await s.client.listTools()).tools.map((t) => t.name);
          expect(names.every((n) => n.startsWith('dropbox_'))).toBe(true);
          const account = await s.call('dropbox_get_current_account');
          expect(account.isError).toBeFalsy();
        } finally {
          await s.close();
        }
      }
    });

    it("another project's connection chosen: a 404 (a JSON-RPC error carrying the envelope) before any protocol, nothing sent", async () => {
      for (const options of [
        { headers: { 'Connection-Id': ids.otherGmail } },
        { query: `?connection_id=${ids.otherGmail}` },
        { query: '?connection_id=conn_doesnotexist0000000000' },
      ]) {
        const r = await post(INITIALIZE, options);
        expect(r.status, r.text).toBe(404);
        expect(r.json).toMatchObject({ jsonrpc: '2.0', error: { data: { code: 'not_found' } } });
        const call = await post(callMessage('gmail_get_profile'), options);
        expect(call.status).toBe(404);
      }
      // The other project's own key reaches it.
      const s = await session('', { 'Connection-Id': ids.otherGmail }, otherKey);
      try {
        const before = up.gmail.requests.length;
        expect((await s.call('gmail_get_profile')).isError).toBeFalsy();
        expect(up.gmail.requests.slice(before).map(bearerOf)).toEqual([OTHER_TOKEN]);
      } finally {
        await s.close();
      }
      sent = up.sent();
      // A malformed connection id is refused by the query's schema.
      const bad = await post(INITIALIZE, { query: '?connection_id=../../etc' });
      expect(bad.status).toBe(400);
      // And by the same rule in the header, naming it.
      for (const header of ['../../etc', 'conn_x'.repeat(40), `${ids.gmail}, ${ids.otherGmail}`]) {
        const r = await post(INITIALIZE, { headers: { 'Connection-Id': header } });
        expect(r.status, r.text).toBe(400);
        expect(r.json).toMatchObject({ jsonrpc: '2.0', error: { data: { code: 'invalid_input' } } });
        expect(r.text).toContain('connection-id');
      }
      expect(up.sent()).toBe(sent);
    });

    it('a connection that cannot call its API yet (no credential): a tool error saying so and how to sign in, nothing sent', async () => {
      const project = (await ensureProject(store.db, 'default')).project.id;
      const pending = await createConnection(store.db, {
        projectId: project,
        connector: 'gmail',
        name: 'pending',
      });
      const s = await session('', { 'Connection-Id': pending.id });
      try {
        const result = await s.call('gmail_get_profile');
        expect(result.isError, JSON.stringify(result)).toBe(true);
        const text = textOf(result);
        expect(text).toContain(`connection ${pending.id} cannot call gmail: it has no credential yet`);
        expect(text).toContain('POST /api/v1/oauth/authorize');
        expect(up.sent()).toBe(sent);
      } finally {
        await s.close();
      }
    });

    it('without a chosen connection every tool takes connection_id; a wrong one is an error result, nothing sent', async () => {
      const s = await session();
      try {
        const { tools } = await s.client.listTools();
        const connectors = new Set(tools.map((t) => t.name.split('_')[0]));
        // Every connector the server knows, the fixture one included.
        expect([...connectors].sort()).toEqual(connectorNames);
        expect(connectorNames).toEqual(expect.arrayContaining(['dropbox', 'fixture', 'gmail', 'slack']));
        for (const tool of tools) {
          expect(tool.inputSchema.required).toContain('connection_id');
          expect(tool.inputSchema.properties?.connection_id).toMatchObject({ type: 'string' });
        }
        const ok = await s.call('gmail_get_profile', { connection_id: ids.gmail });
        expect(ok.isError).toBeFalsy();
        sent = up.sent();

        const refused = async (args: Record<string, unknown>, message: RegExp): Promise<void> => {
          const result = await s.call('gmail_get_profile', args);
          expect(result.isError, JSON.stringify(result)).toBe(true);
          expect(textOf(result)).toMatch(message);
          expect(up.sent()).toBe(sent);
        };
        await refused({}, /^connection_id is required/);
        await refused({ connection_id: 7 }, /^connection_id must be a string/);
        // Another project's connection is not found, exactly like one that does not exist.
        await refused({ connection_id: ids.otherGmail }, /^no connection conn_/);
        const notFound = textOf(await s.call('gmail_get_profile', { connection_id: ids.otherGmail }));
        const missing = textOf(
          await s.call('gmail_get_profile', { connection_id: 'conn_doesnotexist0000000000' }),
        );
        expect(notFound.replace(ids.otherGmail, 'ID')).toBe(
          missing.replace('conn_doesnotexist0000000000', 'ID'),
        );
        await refused(
          { connection_id: ids.dropbox },
          new RegExp(
            `^connection ${ids.dropbox} is a dropbox connection, not gmail\\nhint: call it with a gmail connection`,
          ),
        );
        await refused({ connection_id: ids.gmail, maxResults: 'x' }, /has no parameter "maxResults"/);
      } finally {
        await s.close();
      }
    });

    it('read_only, allow and deny (repeatable) in the query choose the tools; a bad glob is a 400', async () => {
      const names = async (query: string): Promise<string[]> => {
        const s = await session(query, { 'Connection-Id': ids.gmail });
        try {
          return (await s.client.listTools()).tools.map((t) => t.name).sort();
        } finally {
          await s.close();
        }
      };
      const readOnly = await names('?read_only=true');
      expect(readOnly).toContain('gmail_list_messages');
      expect(readOnly).not.toContain('gmail_send_message');
      expect(readOnly).not.toContain('gmail_delete_message');
      expect(await names('?allow=gmail_get_*&allow=gmail_list_labels')).toEqual([
        'gmail_get_attachment',
        'gmail_get_message',
        'gmail_get_profile',
        'gmail_get_thread',
        'gmail_list_labels',
      ]);
      const denied = await names('?deny=*_delete_*&deny=gmail_send_*');
      expect(denied).not.toContain('gmail_delete_message');
      expect(denied).not.toContain('gmail_send_message_mime');
      expect(denied).toContain('gmail_trash_message');
      expect(await names('?read_only=true&deny=gmail_get_*')).not.toContain('gmail_get_profile');

      // A denied tool is unknown to the session: -32602, nothing sent.
      const s = await session('?deny=gmail_delete_*', { 'Connection-Id': ids.gmail });
      try {
        sent = up.sent();
        expect((await protocolError(s.call('gmail_delete_message', { id: 'x' }))).code).toBe(-32602);
        expect(up.sent()).toBe(sent);
      } finally {
        await s.close();
      }
      for (const query of ['?allow=gmail%20*', '?deny=a;b', '?read_only=yes', '?allow=']) {
        const r = await post(INITIALIZE, { query, headers: { 'Connection-Id': ids.gmail } });
        expect(r.status, `${query}: ${r.text}`).toBe(400);
        expect(r.json).toMatchObject({
          jsonrpc: '2.0',
          error: { data: { code: expect.stringMatching(/invalid_input|usage/) as unknown } },
        });
      }
    });

    it('GET and DELETE /mcp are 405 with Allow: POST', async () => {
      for (const method of ['GET', 'DELETE']) {
        const r = await post(undefined, { method, headers: { 'Connection-Id': ids.gmail } });
        expect(r.status, r.text).toBe(405);
        expect(r.headers.get('allow')).toBe('POST');
        expect(r.json).toMatchObject({ error: { code: 'method_not_allowed' } });
      }
    });

    it('hostile input: unknown tool, bad arguments and a body over the limit; nothing sent', async () => {
      const s = await session('', { 'Connection-Id': ids.gmail });
      try {
        const unknown = await protocolError(s.call('gmail_get_profil'));
        expect(unknown.code).toBe(-32602);
        expect(unknown.message).toContain('did you mean "gmail_get_profile"');
        const bad = await s.call('gmail_list_messages', { maxResults: 'many' });
        expect(bad.isError).toBe(true);
        expect(textOf(bad)).toMatch(/^maxResults expects an integer/);
        const cursor = await s.call('gmail_list_messages', { cursor: 'c1.e30' });
        expect(cursor.isError).toBe(true);
      } finally {
        await s.close();
      }
      const huge = await post(callMessage('gmail_send_message', { raw: 'A'.repeat(20 * 1024 * 1024) }), {
        headers: { 'Connection-Id': ids.gmail },
      });
      expect(huge.status).toBe(413);
      expect(huge.json).toMatchObject({
        jsonrpc: '2.0',
        error: { data: { code: 'payload_too_large' } },
      });
      expect(up.sent()).toBe(sent);
    });

    it('a client that goes away (closes the request) aborts the upstream request', async () => {
      const stalls = up.stalls.length;
      const closed = up.stallsClosed.length;
      const controller = new AbortController();
      const request = fetch(`${base}/mcp`, {
        method: 'POST',
        headers: {
          accept: 'application/json, text/event-stream',
          'content-type': 'application/json',
          authorization: `Bearer ${key}`,
          'connection-id': ids.fixture,
        },
        body: JSON.stringify(callMessage('fixture_stall')),
        signal: controller.signal,
      }).then(
        () => 'answered',
        (error: unknown) => String(error),
      );
      await until(() => up.stalls.length === stalls + 1);
      controller.abort();
      expect(await request).toMatch(/abort/i);
      await until(() => up.stallsClosed.length === closed + 1);
      // The server goes on.
      const s = await session('', { 'Connection-Id': ids.fixture });
      try {
        expect(textOf(await s.call('fixture_note'))).toBe('a note in plain words\n');
      } finally {
        await s.close();
      }
    });

    // Last, after every other test of the variant.
    it('no answer, result or log line carried a token', () => {
      expect(seen.length).toBeGreaterThan(20);
      expect(logs.text).toContain('/mcp');
      for (const text of [...seen, logs.text]) {
        expect(text).not.toContain(TOKEN);
        expect(text).not.toContain(OTHER_TOKEN);
      }
    });
  });
}

async function until(done: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
