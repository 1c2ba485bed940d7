/** Every route of `connectr serve`, through the client, against the real server of the harness. */
import { describe, expect, it } from 'vitest';
import {
  AuthRequiredError,
  ConnectrClient,
  ForbiddenError,
  InvalidInputError,
  NeedsReauthError,
  NotFoundError,
} from '../src/index.js';
import { client, harness, rejection } from './harness.js';

describe('operations', () => {
  it('health and ready need no key', async () => {
    const anonymous = client(null);
    expect((await anonymous.health()).status).toBe('ok');
    expect(await anonymous.ready()).toEqual({ status: 'ready' });
    const doc = await anonymous.openapi();
    expect(doc).toHaveProperty('openapi');
  });

  it('metrics needs a metrics key: a project key is a 403 ForbiddenError naming the scope', async () => {
    expect(await client(harness().metrics_key).metrics()).toContain('connectr_http_requests_total');
    const error = await rejection(client(null).metrics());
    expect(error).toBeInstanceOf(AuthRequiredError);
    const project = await rejection(client().metrics());
    expect(project).toBeInstanceOf(ForbiddenError);
    expect(project.message).toContain('metrics scope');
  });
});

describe('authentication', () => {
  it('no key is a 401 AuthRequiredError with the request id', async () => {
    const error = await rejection(client(null).listConnectors());
    expect(error).toBeInstanceOf(AuthRequiredError);
    expect(error.status).toBe(401);
    expect(error.code).toBe('auth_required');
    expect(error.requestId).toMatch(/.+/);
  });

  it('a bad key is a 401 whose message and representations never hold the key', async () => {
    const secret = 'cnr_badprefix_thisisnotarealsecretvalue0000';
    const bad = client(secret);
    const error = await rejection(bad.listConnections());
    expect(error).toBeInstanceOf(AuthRequiredError);
    expect(error.status).toBe(401);
    const { inspect } = await import('node:util');
    for (const text of [
      error.message,
      String(error.stack),
      inspect(error),
      JSON.stringify(error),
      inspect(bad),
      JSON.stringify(bad),
      String(bad),
    ])
      expect(text).not.toContain(secret);
  });

  it('the key comes from CONNECTR_API_KEY and the URL from CONNECTR_URL', async () => {
    const fromEnv = new ConnectrClient({
      env: { CONNECTR_API_KEY: harness().api_key, CONNECTR_URL: harness().url },
    });
    expect(fromEnv.baseUrl).toBe(harness().url);
    expect(fromEnv.hasApiKey).toBe(true);
    expect((await fromEnv.listConnectors()).length).toBeGreaterThan(0);
    expect(new ConnectrClient({ env: {} }).baseUrl).toBe('http://127.0.0.1:5000');
  });
});

describe('connectors', () => {
  it('lists, shows and lists endpoints', async () => {
    const c = client();
    const names = (await c.listConnectors()).map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['gmail', 'dropbox', 'onedrive']));
    const gmail = await c.getConnector('gmail');
    expect(gmail.auth_type).toBe('oauth2');
    expect(gmail.endpoints.map((e) => e.name)).toContain('list_messages');
    const endpoints = await c.listEndpoints('dropbox');
    expect(endpoints.connector).toBe('dropbox');
    expect(endpoints.endpoints.find((e) => e.name === 'download')?.response_kind).toBe('binary');
  });

  it('an unknown connector is a NotFoundError with a hint; a malformed name a 400', async () => {
    const error = await rejection(client().getConnector('gmial'));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.status).toBe(404);
    expect(error.hint).toContain('gmail');
    const bad = await rejection(client().listEndpoints('Not A Name'));
    expect(bad.status).toBe(400);
  });
});

describe('connections', () => {
  it('create, show, list with filters and cursors, credentials, delete', async () => {
    const c = client();
    const user = `user-${Date.now()}`;
    const made = [];
    for (let i = 0; i < 3; i++)
      made.push(await c.createConnection({ connector_type: 'gmail', name: `sdk test ${i}`, user_id: user }));
    expect(made[0]?.status).toBe('pending');
    expect(made[0]?.user_id).toBe(user);
    const first = made[0];
    if (!first) throw new Error('no connection');
    expect((await c.getConnection(first.id)).name).toBe('sdk test 0');

    const page1 = await c.listConnections({ user_id: user, limit: 2 });
    expect(page1.connections.map((x) => x.id)).toEqual(made.slice(0, 2).map((x) => x.id));
    expect(page1.next_cursor).not.toBeNull();
    const page2 = await c.listConnections({ user_id: user, limit: 2, cursor: page1.next_cursor ?? '' });
    expect(page2.connections.map((x) => x.id)).toEqual([made[2]?.id]);
    expect(page2.next_cursor).toBeNull();
    const all = [];
    for await (const x of c.iterConnections({ user_id: user, limit: 1 })) all.push(x.id);
    expect(all).toEqual(made.map((x) => x.id));
    const byType = await c.listConnections({ connector_type: 'dropbox' });
    expect(byType.connections.every((x) => x.connector_type === 'dropbox')).toBe(true);
    expect(byType.connections.map((x) => x.id)).toContain(harness().connections.dropbox);

    const active = await c.putCredentials(first.id, {
      access_token: 'a-token-of-elsewhere',
      expires_in: 3600,
    });
    expect(active.status).toBe('active');
    expect(JSON.stringify(active)).not.toContain('a-token-of-elsewhere');

    for (const x of made) expect(await c.deleteConnection(x.id)).toMatchObject({ deleted: true });
    expect(await rejection(c.getConnection(first.id))).toBeInstanceOf(NotFoundError);
  });

  it('creates a connection pinned to a connector version, and names an unknown one', async () => {
    const c = client();
    const pinned = await c.createConnection({
      connector_type: 'gmail',
      name: 'pinned',
      connector_version: 1,
    });
    expect(pinned.connector_version).toBe(1);
    const unknown = await rejection(
      c.createConnection({ connector_type: 'gmail', name: 'x', connector_version: 99 }),
    );
    expect(unknown).toBeInstanceOf(InvalidInputError);
    expect(unknown.field).toBe('body.connector_version');
    expect(await c.deleteConnection(pinned.id)).toMatchObject({ deleted: true });
  });

  it('names the field at fault in a 400', async () => {
    const c = client();
    const unknown = await rejection(c.createConnection({ connector_type: 'nope', name: 'x' }));
    expect(unknown).toBeInstanceOf(InvalidInputError);
    expect(unknown.status).toBe(400);
    expect(unknown.field).toBe('body.connector_type');
    const blank = await rejection(c.createConnection({ connector_type: 'gmail', name: '   ' }));
    expect(blank.field).toBe('body.name');
    const cursor = await rejection(c.listConnections({ cursor: 'not-a-cursor' }));
    expect(cursor.field).toBe('query.cursor');
    const limit = await rejection(c.listConnections({ limit: 0 }));
    expect(limit.field).toBe('query.limit');
    const creds = await rejection(c.putCredentials(harness().connections.gmail, { api_key: 'k' }));
    expect(creds).toBeInstanceOf(InvalidInputError);
    expect(creds.field).toBe('body.api_key');
  });

  it("another project's key sees none of them (404)", async () => {
    const other = client(harness().other_key);
    const id = harness().connections.gmail;
    expect(await rejection(other.getConnection(id))).toBeInstanceOf(NotFoundError);
    expect(await rejection(other.deleteConnection(id))).toBeInstanceOf(NotFoundError);
    expect(await rejection(other.putCredentials(id, { access_token: 'x' }))).toBeInstanceOf(NotFoundError);
    const execute = await rejection(other.execute({ connection_id: id, endpoint: 'get_profile' }));
    expect(execute).toBeInstanceOf(NotFoundError);
    expect(execute.status).toBe(404);
    expect((await other.listConnections()).connections).toEqual([]);
  });
});

describe('token', () => {
  it('answers the access token to a key made with --allow-token only', async () => {
    const id = harness().connections.gmail;
    const token = await client(harness().token_key).getToken(id);
    expect(token.access_token).toBe(harness().tokens.gmail);
    expect(token.token_type).toBe('Bearer');
    const error = await rejection(client().getToken(id));
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.status).toBe(403);
    expect(await rejection(client(harness().other_key).getToken(id))).toBeInstanceOf(ForbiddenError);
  });

  it('is a 409 for a connection without a token', async () => {
    const c = client(harness().token_key);
    const pending = await c.createConnection({ connector_type: 'gmail', name: 'no token yet' });
    try {
      const error = await rejection(c.getToken(pending.id));
      expect(error.status).toBe(409);
      expect(error).toBeInstanceOf(NeedsReauthError);
    } finally {
      await c.deleteConnection(pending.id);
    }
  });
});

describe('OAuth', () => {
  it('OAuth apps: put, list, delete (the secret never comes back)', async () => {
    const c = client();
    const app = await c.putOAuthApp('dropbox', {
      client_id: 'sdk-client-id',
      client_secret: 'sdk-client-secret',
    });
    expect(app).toMatchObject({ connector: 'dropbox', client_id: 'sdk-client-id', has_client_secret: true });
    const apps = await c.listOAuthApps();
    expect(apps.map((a) => a.connector)).toContain('dropbox');
    expect(JSON.stringify(apps)).not.toContain('sdk-client-secret');
    expect(await c.deleteOAuthApp('dropbox')).toEqual({ connector: 'dropbox', deleted: true });
    expect(await rejection(c.deleteOAuthApp('dropbox'))).toBeInstanceOf(NotFoundError);
    expect(await rejection(c.putOAuthApp('nosuch', { client_id: 'x' }))).toBeInstanceOf(NotFoundError);
  });

  it('authorize in both forms, and the code-only callback', async () => {
    const c = client();
    await c.putOAuthApp('gmail', { client_id: 'sdk-gmail-client', client_secret: 'sdk-gmail-secret' });
    const made = await c.createConnection({ connector_type: 'gmail', name: 'sign-in test' });
    const ids = [made.id];
    try {
      const started = await c.authorize({
        connection_id: made.id,
        return_url: 'https://app.example.com/done',
      });
      expect(started.connection_id).toBe(made.id);
      const url = new URL(started.authorization_url);
      expect(url.searchParams.get('client_id')).toBe('sdk-gmail-client');
      expect(url.searchParams.get('state')).toBe(started.state);

      const old = await c.authorize({
        connector_type: 'gmail',
        redirect_uri: 'https://app.example.com/oauth',
      });
      // The old form's sign-in belongs to no connection until it is completed into one.
      expect(old.connection_id).toBeNull();
      expect(old.redirect_uri).toBe('https://app.example.com/oauth');

      // A state that was never given out: refused, and nothing is exchanged.
      const error = await rejection(
        c.oauthCallback({
          connection_id: made.id,
          code: 'some-code',
          redirect_uri: 'https://app.example.com/oauth',
          state: 'not-a-state',
        }),
      );
      expect(error.status).toBe(400);
      const missing = await rejection(
        c.oauthCallback({ connection_id: made.id, code: 'c', redirect_uri: 'not a url' }),
      );
      expect(missing.field).toBe('body.redirect_uri');
    } finally {
      for (const id of ids) await c.deleteConnection(id);
      await c.deleteOAuthApp('gmail');
    }
  });

  it('authorize for an unknown connection is a 404', async () => {
    expect(await rejection(client().authorize({ connection_id: 'conn_doesnotexist' }))).toBeInstanceOf(
      NotFoundError,
    );
  });
});

describe('execute', () => {
  it('json: the upstream answer, parsed', async () => {
    const result = await client().execute<{ emailAddress: string; messagesTotal: number }>({
      connection_id: harness().connections.gmail,
      endpoint: 'get_profile',
    });
    expect(result.status).toBe(200);
    expect(result.encoding).toBe('json');
    expect(result.content_type).toContain('application/json');
    expect(result.body.messagesTotal).toBe(7);
  });

  it('binary: bytes, and the Dropbox-API-Result header parsed', async () => {
    const result = await client().execute({
      connection_id: harness().connections.dropbox,
      endpoint: 'download',
      params: { path: '/docs/hello.txt' },
    });
    expect(result.encoding).toBe('base64');
    expect(result.body).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(result.body as Uint8Array)).toBe('hello from dropbox\n');
    expect(result.result).toMatchObject({ name: 'hello.txt' });
  });

  it('upload bytes (body_base64), then read them back', async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255, 10, 13]);
    const c = client();
    const up = await c.execute<{ path_display: string; size: number }>({
      connection_id: harness().connections.dropbox,
      endpoint: 'upload',
      params: { path: '/docs/bytes.bin', mode: 'overwrite' },
      bytes,
    });
    expect(up.status).toBe(200);
    expect(up.body.size).toBe(bytes.length);
    const down = await c.execute({
      connection_id: harness().connections.dropbox,
      endpoint: 'download',
      params: { path: '/docs/bytes.bin' },
    });
    expect(down.body).toEqual(bytes);
  });

  it('an upstream error is data, not an exception', async () => {
    const result = await client().execute({
      connection_id: harness().connections.gmail,
      endpoint: 'get_message',
      params: { id: 'no-such-message' },
    });
    expect(result.status).toBe(404);
    expect(result.encoding).toBe('json');
  });

  it('a bad param is a 400 naming it; an unknown endpoint names body.endpoint', async () => {
    const c = client();
    const error = await rejection(
      c.execute({
        connection_id: harness().connections.gmail,
        endpoint: 'list_messages',
        params: { maxResults: 'many' },
      }),
    );
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.status).toBe(400);
    // The server names an execute param in the message only (its details are empty).
    expect(error.message).toContain('params.maxResults');
    const endpoint = await rejection(
      c.execute({ connection_id: harness().connections.gmail, endpoint: 'list_mesages' }),
    );
    expect(endpoint.field).toBe('body.endpoint');
    expect(endpoint.hint).toContain('list_messages');
  });

  it('a connection without a credential is a 409 NeedsReauthError', async () => {
    const c = client();
    const pending = await c.createConnection({ connector_type: 'gmail', name: 'needs sign-in' });
    try {
      const error = await rejection(c.execute({ connection_id: pending.id, endpoint: 'get_profile' }));
      expect(error).toBeInstanceOf(NeedsReauthError);
      expect(error.status).toBe(409);
      expect(error.hint).toBeTruthy();
    } finally {
      await c.deleteConnection(pending.id);
    }
  });

  it('text: a text answer stays a string (Dropbox answers a path without its leading / in text/plain)', async () => {
    const result = await client().execute({
      connection_id: harness().connections.dropbox,
      endpoint: 'list_folder',
      params: { path: 'docs' },
    });
    expect(result.status).toBe(400);
    expect(result.encoding).toBe('text');
    expect(typeof result.body).toBe('string');
    expect(result.body).toContain('did not match pattern');
  });

  it('binary by path: OneDrive content as bytes', async () => {
    const result = await client().execute({
      connection_id: harness().connections.onedrive,
      endpoint: 'download_by_path',
      params: { path: 'hello.txt' },
    });
    expect(result.status).toBe(200);
    expect(result.encoding).toBe('base64');
    expect(new TextDecoder().decode(result.body as Uint8Array)).toBe('hello from onedrive\n');
  });
});

describe('execute all (NDJSON)', () => {
  it('streams every item of every page', async () => {
    const ids: string[] = [];
    for await (const message of client().executeAll<{ id: string }>({
      connection_id: harness().connections.gmail,
      endpoint: 'list_messages',
      params: { maxResults: 2 },
    }))
      ids.push(message.id);
    expect(ids).toHaveLength(7);
    expect(new Set(ids).size).toBe(7);
  });

  it('honours limit and max_pages, and stops early on break', async () => {
    const c = client();
    const collect = async (extra: { limit?: number; max_pages?: number }): Promise<number> => {
      let n = 0;
      for await (const _ of c.executeAll({
        connection_id: harness().connections.gmail,
        endpoint: 'list_messages',
        params: { maxResults: 2 },
        ...extra,
      }))
        n++;
      return n;
    };
    expect(await collect({ limit: 3 })).toBe(3);
    expect(await collect({ max_pages: 2 })).toBe(4);
    let seen = 0;
    for await (const _ of c.executeAll({
      connection_id: harness().connections.gmail,
      endpoint: 'list_messages',
      params: { maxResults: 2, q: 'is:unread' },
    })) {
      seen++;
      if (seen === 1) break;
    }
    expect(seen).toBe(1);
  });

  it('an error before the first item is thrown by the first iteration', async () => {
    const iterate = async (): Promise<void> => {
      for await (const _ of client(harness().other_key).executeAll({
        connection_id: harness().connections.gmail,
        endpoint: 'list_messages',
      }));
    };
    await expect(iterate()).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('raw proxy', () => {
  it('GET streams the upstream answer back as a Response', async () => {
    const response = await client().proxy(harness().connections.gmail, 'gmail/v1/users/me/profile');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBeTruthy();
    const profile = (await response.json()) as { messagesTotal: number };
    expect(profile.messagesTotal).toBe(7);
  });

  it('a streamed upload and a streamed download (x-connectr-host)', async () => {
    const c = client();
    const size = 3 * 1024 * 1024 + 17;
    const chunk = 64 * 1024;
    let sent = 0;
    const upload = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= size) {
          controller.close();
          return;
        }
        const n = Math.min(chunk, size - sent);
        const part = new Uint8Array(n);
        for (let i = 0; i < n; i++) part[i] = (sent + i) % 251;
        sent += n;
        controller.enqueue(part);
      },
    });
    const up = await c.proxy(harness().connections.dropbox, '2/files/upload', {
      method: 'POST',
      host: 'content',
      headers: {
        'content-type': 'application/octet-stream',
        'dropbox-api-arg': JSON.stringify({ path: '/docs/big.bin', mode: 'overwrite' }),
      },
      body: upload,
    });
    expect(up.status).toBe(200);
    expect(((await up.json()) as { size: number }).size).toBe(size);

    const down = await c.proxy(harness().connections.dropbox, '2/files/download', {
      method: 'POST',
      host: 'content',
      headers: { 'dropbox-api-arg': JSON.stringify({ path: '/docs/big.bin' }) },
    });
    expect(down.status).toBe(200);
    const reader = down.body?.getReader();
    if (!reader) throw new Error('no body');
    let received = 0;
    let chunks = 0;
    let wrong = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (let i = 0; i < value.length; i++) if (value[i] !== (received + i) % 251) wrong++;
      received += value.length;
      chunks++;
    }
    expect(received).toBe(size);
    expect(wrong).toBe(0);
    expect(chunks).toBeGreaterThan(1);
  });

  it('uploads a file stream (fs.createReadStream) to OneDrive and reads it back', async () => {
    const { createReadStream, mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'connectr-sdk-proxy-'));
    try {
      const file = join(dir, 'report.bin');
      const content = Buffer.alloc(512 * 1024 + 3, 'connectr');
      writeFileSync(file, content);
      const c = client();
      // Uploaded into the root folder by its id (the Graph emulator takes PUT items/{parent}:/{name}:/content).
      const up = await c.proxy(harness().connections.onedrive, 'me/drive/items/root:/report.bin:/content', {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: createReadStream(file),
      });
      expect([200, 201]).toContain(up.status);
      expect(((await up.json()) as { size: number }).size).toBe(content.length);
      const down = await c.proxy(harness().connections.onedrive, 'me/drive/root:/report.bin:/content');
      // Graph answers a download with a redirect to a pre-authenticated content URL: the proxy
      // gives it back (never follows it), and the content is fetched from there, streamed.
      expect(down.status).toBe(302);
      const location = down.headers.get('location');
      if (!location) throw new Error('no location');
      const content2 = await fetch(location);
      expect(content2.status).toBe(200);
      expect(Buffer.from(await content2.arrayBuffer()).equals(content)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("connectr's own errors come back as the Response, readable with errorFromResponse", async () => {
    const { errorFromResponse } = await import('../src/index.js');
    const response = await client(harness().other_key).proxy(
      harness().connections.gmail,
      'gmail/v1/users/me/profile',
    );
    expect(response.status).toBe(404);
    expect(await errorFromResponse(response)).toBeInstanceOf(NotFoundError);
    const host = await client().proxy(harness().connections.dropbox, '2/files/download', {
      host: 'nosuch',
      method: 'POST',
    });
    expect(host.status).toBe(400);
  });

  it('refuses a path the URL parser would rewrite, before sending anything', async () => {
    const c = client();
    for (const path of ['../../connectors', 'a/%2e%2e/b', 'a\\b', 'a/./b', 'a?b=1', 'a\r\nb'])
      await expect(c.proxy(harness().connections.gmail, path)).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('a token connection for which the upstream says 401 stays a Response', async () => {
    const c = client();
    const made = await c.createConnection({ connector_type: 'gmail', name: 'wrong token' });
    try {
      await c.putCredentials(made.id, { access_token: 'not-the-emulators-token', expires_in: 3600 });
      const response = await c.proxy(made.id, 'gmail/v1/users/me/profile');
      expect([401, 409]).toContain(response.status);
      await response.body?.cancel();
    } finally {
      await c.deleteConnection(made.id);
    }
  });
});

describe('Connect', () => {
  it('settings and sessions: the URL carries the token in its fragment; a bad origin is an InvalidInputError', async () => {
    const api = client();
    const settings = await api.setConnectSettings({ allowed_origins: ['https://app.example.com'] });
    expect(settings).toEqual({ allowed_origins: ['https://app.example.com'] });
    expect(await api.getConnectSettings()).toEqual(settings);
    const session = await api.createConnectSession({
      end_user: { id: 'sdk-user', display_name: 'SDK' },
      return_url: 'https://app.example.com/done',
      tags: { from: 'sdk' },
    });
    expect(session.token).toMatch(/^cnct_/);
    expect(session.connect_url.endsWith(`/connect#${session.token}`)).toBe(true);
    expect(Date.parse(session.expires_at)).toBeGreaterThan(Date.now());
    const refused = await rejection(
      api.createConnectSession({ end_user: { id: 'u' }, return_url: 'https://elsewhere.example.com/' }),
    );
    expect(refused).toBeInstanceOf(InvalidInputError);
    expect(refused.message).toContain('https://elsewhere.example.com');
    // The token is no API key.
    expect(await rejection(client(session.token).listConnections())).toBeInstanceOf(AuthRequiredError);
  });
});
