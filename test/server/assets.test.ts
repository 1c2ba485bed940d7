import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGLITE } from '../helpers/server-store.js';
import type { TestDaemon } from '../helpers/server.js';
import { withServer } from '../helpers/server.js';

describe('GET /assets/{file}: the pages’ files', () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await withServer({ backend: PGLITE });
  });
  afterAll(() => daemon.close());

  it('serves the style sheet without a key, revalidated by its ETag', async () => {
    const first = await daemon.app.inject({ url: '/assets/connectr.css' });
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(first.body).toContain('prefers-color-scheme: dark');
    const etag = String(first.headers.etag);
    const again = await daemon.app.inject({
      url: '/assets/connectr.css',
      headers: { 'if-none-match': etag },
    });
    expect(again.statusCode).toBe(304);
  });

  it('looks names up among its files, never on disk: paths and unknown names are 404', async () => {
    for (const url of [
      '/assets/..%2Fpage.ts',
      '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
      '/assets/page.ts',
      '/assets/nothing.css',
    ]) {
      const answer = await daemon.app.inject({ url });
      expect(answer.statusCode, url).toBe(404);
      expect(answer.json()).toMatchObject({ error: { code: 'not_found' } });
    }
  });

  it('a form body is still refused by the API routes (forms are read by the pages only)', async () => {
    const project = await daemon.project();
    const key = await daemon.key(project);
    const answer = await daemon.app.inject({
      method: 'POST',
      url: '/api/v1/connections',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'connector=gmail',
    });
    expect(answer.statusCode).toBe(415);
  });
});
