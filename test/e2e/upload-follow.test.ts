import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';

/**
 * The CLI sends an upload's bytes to the upload URL an API answers only where it follows a
 * redirect (one engine, issue #21 point 3's class): Slack's files.getUploadURLExternal answering
 * an upload_url on another port of 127.0.0.1 is refused with exit 4 naming the host, and that
 * port receives nothing; the upload host the environment lists in CONNECTR_SLACK_REDIRECT_HOSTS
 * gets the bytes, without the token.
 */

interface Listening {
  readonly server: Server;
  readonly origin: string;
  readonly hits: { url: string; authorization: string | undefined; body: string }[];
}

async function listen(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listening> {
  const hits: Listening['hits'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits.push({ url: req.url ?? '', authorization: req.headers.authorization, body });
      handle(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`, hits };
}

describe('connectr call: upload URLs stay on the connector’s hosts', () => {
  const home = tempHome();
  let api: Listening;
  let inside: Listening;
  let files: Listening;
  let env: Record<string, string>;
  let target = '';
  beforeAll(async () => {
    const took = (_req: IncomingMessage, res: ServerResponse): void => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
    };
    inside = await listen(took);
    files = await listen(took);
    api = await listen((req, res) => {
      const json = (body: unknown): void => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      const path = (req.url ?? '').split('?')[0] ?? '';
      if (path === '/api/files.getUploadURLExternal')
        json({ ok: true, upload_url: `${target}/upload/v1/ticket`, file_id: 'F0000000001' });
      else if (path === '/api/files.completeUploadExternal')
        json({ ok: true, files: [{ id: 'F0000000001', title: 'report.csv' }] });
      else res.writeHead(404).end();
    });
    env = {
      ...home.env,
      CONNECTR_SLACK_API_BASE_URL: `${api.origin}/api`,
      CONNECTR_SLACK_REDIRECT_HOSTS: files.origin,
      CONNECTR_SLACK_TOKEN: 'xoxb-slack-SECRET',
    };
    writeFileSync(join(home.dir, 'report.csv'), 'month,total\njan,3\n');
  });
  afterAll(async () => {
    for (const s of [api, inside, files]) {
      s.server.closeAllConnections();
      await new Promise((resolve) => s.server.close(resolve));
    }
    home.cleanup();
  });

  const upload = () =>
    runBin(
      ['call', 'slack', 'upload_file', '--file', join(home.dir, 'report.csv'), '--filename', 'report.csv'],
      env,
    );

  it('an upload_url on another port of 127.0.0.1 is refused: exit 4, the host named, nothing sent', async () => {
    target = inside.origin;
    const r = await upload();
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain(
      `error: refused to follow an upload URL of Slack to ${new URL(inside.origin).host}: not one of the connector's hosts`,
    );
    expect(inside.hits).toEqual([]);
    expect(api.hits.map((h) => h.url)).not.toContain('/api/files.completeUploadExternal');
  });

  it('an upload_url on an origin of CONNECTR_SLACK_REDIRECT_HOSTS gets the bytes, not the token', async () => {
    target = files.origin;
    const r = await upload();
    expect(r.code, r.stderr).toBe(0);
    expect(files.hits).toEqual([
      { url: '/upload/v1/ticket', authorization: undefined, body: 'month,total\njan,3\n' },
    ]);
  });
});
