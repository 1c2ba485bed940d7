import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYED_CONNECTOR } from '../helpers/keyed-connector.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';
import type { TestDaemon } from '../helpers/server.js';
import { withServer } from '../helpers/server.js';

/**
 * POST /api/v1/connect/sessions and /connect/settings through app.inject, on both backends:
 * what a session is made of, what it is refused for, and that its token is never an API key.
 */

const NOW = Date.UTC(2026, 11, 8, 2, 0, 0);

/** The fields these answers may have. */
interface Json {
  readonly token: string;
  readonly connect_url: string;
  readonly expires_at: string;
  readonly error: { readonly code: string; readonly message: string; readonly hint?: string };
  readonly allowed_origins: string[];
  readonly tags: Record<string, string>;
  readonly connections: { readonly tags: Record<string, string> }[];
}

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`Connect sessions on ${variantTitle(variant)}`, () => {
    let daemon: TestDaemon;
    let key: string;
    let projectId: string;
    let otherKey: string;
    let now = NOW;

    const call = async (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, bearer = key) => {
      const answer = await daemon.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${bearer}` },
        ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
      });
      return { status: answer.statusCode, json: answer.json<Json>(), headers: answer.headers };
    };

    beforeAll(async () => {
      daemon = await withServer({
        backend: variant,
        connectors: { keyed: KEYED_CONNECTOR },
        now: () => now,
        app: { publicUrl: 'https://connectr.example.com', signInPurgeEveryMs: 50 },
      });
      projectId = await daemon.project();
      key = await daemon.key(projectId);
      otherKey = await daemon.key(await daemon.project('other'));
    });
    afterAll(() => daemon.close());

    it('makes a 30-minute session whose token goes in the fragment of the Connect page', async () => {
      const made = await call('POST', '/api/v1/connect/sessions', {
        end_user: { id: 'user-1', email: 'a@example.com', display_name: 'Ada' },
        allowed_connectors: ['keyed', 'gmail'],
        tags: { team: 'blue', 'plan.tier': 'pro' },
      });
      expect(made.status).toBe(201);
      expect(made.json.token).toMatch(/^cnct_[A-Za-z0-9_-]{43}$/);
      expect(made.json.connect_url).toBe(`https://connectr.example.com/connect#${made.json.token}`);
      expect(made.json.expires_at).toBe(new Date(NOW + 30 * 60_000).toISOString());
      // Stored hashed: the token itself is nowhere in the table.
      const rows = await daemon.store.database.query<{ token_hash: string }>(
        'select token_hash from connect_sessions',
      );
      expect(JSON.stringify(rows)).not.toContain(made.json.token.slice(5));
    });

    it('a connect token is not an API key: every /api/v1 route answers 401', async () => {
      const made = await call('POST', '/api/v1/connect/sessions', { end_user: { id: 'u' } });
      const token = made.json.token;
      for (const url of ['/api/v1/connections', '/api/v1/connect/settings', '/api/v1/connectors']) {
        const answer = await call('GET', url, undefined, token);
        expect(answer.status, url).toBe(401);
        expect(answer.json.error.code).toBe('auth_required');
      }
      expect((await call('POST', '/api/v1/connect/sessions', { end_user: { id: 'u' } }, token)).status).toBe(
        401,
      );
    });

    it('refuses unknown connectors, naming them, and malformed ones without echoing them', async () => {
      const unknown = await call('POST', '/api/v1/connect/sessions', {
        end_user: { id: 'u' },
        allowed_connectors: ['keyed', 'gmial'],
      });
      expect(unknown.status).toBe(400);
      expect(unknown.json.error.code).toBe('invalid_input');
      expect(unknown.json.error.message).toContain('"gmial"');
      expect(unknown.json.error.hint).toContain('gmail');
      const hostile = await call('POST', '/api/v1/connect/sessions', {
        end_user: { id: 'u' },
        allowed_connectors: ['<script>alert(1)</script>'],
      });
      expect(hostile.status).toBe(400);
      expect(JSON.stringify(hostile.json)).not.toContain('<script>');
    });

    it('re-authorises a connection of the project only', async () => {
      const mine = await daemon.connection(projectId, { connector: 'keyed' });
      const ok = await call('POST', '/api/v1/connect/sessions', {
        end_user: { id: 'u' },
        connection_id: mine,
      });
      expect(ok.status).toBe(201);
      const theirs = await call(
        'POST',
        '/api/v1/connect/sessions',
        { end_user: { id: 'u' }, connection_id: mine },
        otherKey,
      );
      expect(theirs.status).toBe(404);
      expect(theirs.json.error.code).toBe('not_found');
      const narrowed = await call('POST', '/api/v1/connect/sessions', {
        end_user: { id: 'u' },
        connection_id: mine,
        allowed_connectors: ['gmail'],
      });
      expect(narrowed.status).toBe(400);
      expect(narrowed.json.error.message).toContain('keyed');
      const missing = await call('POST', '/api/v1/connect/sessions', {
        end_user: { id: 'u' },
        connection_id: 'conn_nothere',
      });
      expect(missing.status).toBe(404);
    });

    it('bounds tags: count, key form, value length, control characters, __proto__', async () => {
      const tooMany = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
      for (const tags of [
        tooMany,
        { Upper: 'v' },
        { ['k'.repeat(65)]: 'v' },
        { k: 'v'.repeat(256) },
        { k: 'a\nb' },
        { k: 'a\u0000b' },
        { k: 1 },
        JSON.parse('{"__proto__": "x"}') as Record<string, string>,
        ['not', 'an', 'object'],
      ]) {
        const answer = await call('POST', '/api/v1/connect/sessions', { end_user: { id: 'u' }, tags });
        expect(answer.status, JSON.stringify(tags).slice(0, 60)).toBe(400);
        expect(answer.json.error.code).toBe('invalid_input');
      }
      const fine = await call('POST', '/api/v1/connect/sessions', {
        end_user: { id: 'u' },
        tags: Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, 'v'.repeat(255)])),
      });
      expect(fine.status).toBe(201);
    });

    it('refuses bad end users and unknown fields', async () => {
      for (const body of [
        {},
        { end_user: {} },
        { end_user: { id: '' } },
        { end_user: { id: 'a\r\nb' } },
        { end_user: { id: 'x'.repeat(256) } },
        { end_user: { id: 'u', extra: 1 } },
        { end_user: { id: 'u' }, token: 'mine' },
      ]) {
        const answer = await call('POST', '/api/v1/connect/sessions', body);
        expect(answer.status, JSON.stringify(body)).toBe(400);
      }
    });

    it('settings: exact https origins (http on loopback only); return_url must be on one of them', async () => {
      expect((await call('GET', '/api/v1/connect/settings')).json).toEqual({ allowed_origins: [] });
      const refused = await call('POST', '/api/v1/connect/sessions', {
        end_user: { id: 'u' },
        return_url: 'https://app.example.com/done',
      });
      expect(refused.status).toBe(400);
      expect(refused.json.error.message).toContain('https://app.example.com');
      expect(refused.json.error.hint).toContain('PUT /api/v1/connect/settings');
      for (const origin of [
        'http://app.example.com',
        'https://app.example.com/',
        'https://app.example.com/path',
        'https://user@app.example.com',
        'javascript:alert(1)',
        'ftp://app.example.com',
        '*',
        'null',
        'https://app.example.com?x=1',
      ]) {
        const answer = await call('PUT', '/api/v1/connect/settings', { allowed_origins: [origin] });
        expect(answer.status, origin).toBe(400);
        expect(answer.json.error.code).toBe('invalid_input');
      }
      const many = Array.from({ length: 51 }, (_, i) => `https://app${i}.example.com`);
      expect((await call('PUT', '/api/v1/connect/settings', { allowed_origins: many })).status).toBe(400);
      expect(
        (
          await call('PUT', '/api/v1/connect/settings', {
            allowed_origins: [`https://${'a'.repeat(2050)}.com`],
          })
        ).status,
      ).toBe(400);
      const put = await call('PUT', '/api/v1/connect/settings', {
        allowed_origins: ['https://app.example.com', 'http://127.0.0.1:3000', 'http://localhost:8080'],
      });
      expect(put.status).toBe(200);
      expect(put.json.allowed_origins).toEqual([
        'https://app.example.com',
        'http://127.0.0.1:3000',
        'http://localhost:8080',
      ]);
      expect((await call('GET', '/api/v1/connect/settings', undefined, otherKey)).json).toEqual({
        allowed_origins: [],
      });
      const allowed = await call('POST', '/api/v1/connect/sessions', {
        end_user: { id: 'u' },
        return_url: 'https://app.example.com/done?x=1',
      });
      expect(allowed.status).toBe(201);
      for (const url of [
        'https://app.example.com.evil.com/done',
        'http://app.example.com/done',
        'https://evil.com/',
      ]) {
        const answer = await call('POST', '/api/v1/connect/sessions', {
          end_user: { id: 'u' },
          return_url: url,
        });
        expect(answer.status, url).toBe(400);
      }
      // Another project's settings do not allow it.
      const other = await call(
        'POST',
        '/api/v1/connect/sessions',
        { end_user: { id: 'u' }, return_url: 'https://app.example.com/done' },
        otherKey,
      );
      expect(other.status).toBe(400);
    });

    it('connections show tags, {} by default', async () => {
      const id = await daemon.connection(projectId, { connector: 'keyed' });
      const shown = await call('GET', `/api/v1/connections/${id}`);
      expect(shown.json.tags).toEqual({});
      const listed = await call('GET', '/api/v1/connections');
      expect(listed.json.connections[0]?.tags).toEqual({});
    });

    it('sessions a day past their expiry are purged, younger ones kept', async () => {
      const count = async () =>
        (
          await daemon.store.database.query<{ n: number }>('select count(*)::int as n from connect_sessions')
        )[0]?.n ?? 0;
      const before = await count();
      expect(before).toBeGreaterThan(0);
      now = NOW + 30 * 60_000 + 23 * 60 * 60_000;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await count()).toBe(before);
      now = NOW + 30 * 60_000 + 25 * 60 * 60_000;
      const deadline = Date.now() + 5000;
      while ((await count()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await count()).toBe(0);
      now = NOW;
    });

    it('the routes are in /openapi.json', async () => {
      const doc = (await daemon.app.inject({ url: '/openapi.json' })).json<{
        paths: Record<string, unknown>;
      }>();
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(['/api/v1/connect/sessions', '/api/v1/connect/settings']),
      );
    });
  });
}
