import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import { checkConnector } from '../../../src/core/connector/checks.js';
import { parseConnector } from '../../../src/core/connector/load.js';
import { requireEndpoint } from '../../../src/core/connector/model.js';
import type { Connector, Endpoint } from '../../../src/core/connector/model.js';
import { ConnectorSchema } from '../../../src/core/connector/schema.js';
import type { CredentialSource } from '../../../src/core/engine/credential.js';
import { invoke, invokeAll } from '../../../src/core/engine/invoke.js';
import type { InvokeDeps } from '../../../src/core/engine/invoke.js';
import { isErrorAnswer, upstreamError } from '../../../src/core/engine/response.js';
import { ConnectrError } from '../../../src/core/errors.js';
import { tempHome } from '../../helpers/home.js';

/**
 * APIs that answer their errors with HTTP 200 and `"ok": false` (Slack's Web API), declared
 * with errors.ok_path / expired_codes; arrays of JSON objects as params; and Slack's
 * three-step file upload. Against a local server that answers the way Slack documents.
 */

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly auth: string | undefined;
  readonly type: string | undefined;
  readonly body: Buffer;
}

const seen: Seen[] = [];
type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
let handlers: Record<string, Handler> = {};
let server: Server;
let base = '';
const home = tempHome();

function json(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(value));
}

function connectorFor(url: string): Connector {
  const yaml = `
name: chat
display_name: Chat
version: 1
docs_url: https://example.com/docs
description: Errors with HTTP 200.
hosts:
  api: ${url}/api
auth:
  type: api_key
  in: header
  name: Authorization
  prefix: "Bearer "
errors:
  ok_path: ok
  message_paths: [detail, error]
  code_paths: [error]
  expired_codes: [token_expired]
endpoints:
  history:
    summary: Messages.
    method: GET
    path: /history
    params:
      cursor: { in: query, type: string }
    pagination: { style: page_token, request_param: cursor, response_path: response_metadata.next_cursor, items_path: messages }
  post:
    summary: Post with blocks.
    method: POST
    path: /post
    params:
      blocks: { in: body, type: array, items: object }
  download:
    summary: A file.
    method: GET
    path: /download
    response: { encoding: binary }
  get_upload_url:
    summary: Upload URL.
    method: POST
    path: /files.getUploadURLExternal
    params:
      filename: { in: form, type: string, required: true }
      length: { in: form, type: integer, required: true }
  complete_upload:
    summary: Share the file.
    method: POST
    path: /files.completeUploadExternal
    params:
      files: { in: body, type: array, items: object, required: true }
      channel_id: { in: body, type: string }
  upload_file:
    summary: Upload a file.
    method: POST
    path: /files.completeUploadExternal
    params:
      file: { in: raw, type: file, required: true }
      # Never sent with this request: each goes to the session endpoint that declares it.
      filename: { in: query, type: string, required: true }
      title: { in: query, type: string }
      channel_id: { in: query, type: string }
    upload_session: { protocol: slack, threshold: 0, chunk_size: 1048576, start: get_upload_url, finish: complete_upload }
`;
  const parsed = parseConnector(yaml, { file: 'chat.yaml', origin: 'extra' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.connector;
}

function endpointOf(connector: Connector, name: string): Endpoint {
  return requireEndpoint(connector, name, 'the test definition');
}

/** Hands out `tokens[0]`, then the next one on each forced refresh. */
function source(tokens: readonly string[]): CredentialSource {
  let at = 0;
  return {
    credential(options) {
      if (options?.forceRefresh) at++;
      return Promise.resolve({ credential: { kind: 'bearer', token: tokens[at] ?? '' }, refreshable: true });
    },
  };
}

function deps(extra: Partial<InvokeDeps> = {}): InvokeDeps {
  return { credentials: source(['t1', 't2']), env: {}, clock: systemClock, random: () => 0, ...extra };
}

const OPTIONS = { retries: 0, timeoutMs: 5000 };

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      const body = Buffer.concat(chunks);
      seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        auth: req.headers.authorization,
        type: req.headers['content-type'],
        body,
      });
      const handler = handlers[path];
      if (handler) handler(req, res, body);
      else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
});
afterAll(async () => {
  home.cleanup();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
  handlers = {};
});

describe('errors.ok_path: a 2xx answer that says it failed', () => {
  it('is an error answer, worded by its code, with the body still whole for the caller', async () => {
    handlers['/api/history'] = (_req, res) => json(res, { ok: false, error: 'channel_not_found' });
    const connector = connectorFor(base);
    const endpoint = endpointOf(connector, 'history');
    const response = await invoke({ connector, endpoint, values: {} }, deps(), OPTIONS);
    expect(response.status).toBe(200);
    expect(isErrorAnswer(response)).toBe(true);
    const error = await upstreamError(connector, endpoint, response);
    expect(error.message).toBe('Chat refused the call (channel_not_found)');
    expect(error.code).toBe('upstream');
    expect(error.body).toEqual({ ok: false, error: 'channel_not_found' });
  });

  it('names the provider message when there is one besides the code', async () => {
    handlers['/api/history'] = (_req, res) =>
      json(res, { ok: false, error: 'invalid_arguments', detail: 'cursor is malformed' });
    const connector = connectorFor(base);
    const endpoint = endpointOf(connector, 'history');
    const response = await invoke({ connector, endpoint, values: {} }, deps(), OPTIONS);
    const error = await upstreamError(connector, endpoint, response);
    expect(error.message).toBe('Chat refused the call (invalid_arguments): cursor is malformed');
  });

  it('leaves an answer with ok: true (or no ok at all) alone, its body readable as it came', async () => {
    const answer = { ok: true, messages: [{ text: 'hi' }], response_metadata: { next_cursor: '' } };
    handlers['/api/history'] = (_req, res) => json(res, answer);
    const connector = connectorFor(base);
    const endpoint = endpointOf(connector, 'history');
    const response = await invoke({ connector, endpoint, values: {} }, deps(), OPTIONS);
    expect(isErrorAnswer(response)).toBe(false);
    expect(JSON.parse(await response.body.text())).toEqual(answer);
  });

  it('never judges a binary answer, even one that looks like JSON', async () => {
    handlers['/api/download'] = (_req, res) => json(res, { ok: false, error: 'nope' });
    const connector = connectorFor(base);
    const endpoint = endpointOf(connector, 'download');
    const response = await invoke({ connector, endpoint, values: {} }, deps(), OPTIONS);
    expect(isErrorAnswer(response)).toBe(false);
  });

  it('an expired code is refreshed once and sent again, as after a 401', async () => {
    handlers['/api/history'] = (req, res) =>
      req.headers.authorization === 'Bearer t2'
        ? json(res, { ok: true, messages: [] })
        : json(res, { ok: false, error: 'token_expired' });
    const connector = connectorFor(base);
    const endpoint = endpointOf(connector, 'history');
    const response = await invoke({ connector, endpoint, values: {} }, deps(), OPTIONS);
    expect(isErrorAnswer(response)).toBe(false);
    expect(seen.map((s) => s.auth)).toEqual(['Bearer t1', 'Bearer t2']);
  });

  it('an expired code after the refresh is an auth error that says to sign in again', async () => {
    handlers['/api/history'] = (_req, res) => json(res, { ok: false, error: 'token_expired' });
    const connector = connectorFor(base);
    const endpoint = endpointOf(connector, 'history');
    const response = await invoke({ connector, endpoint, values: {} }, deps(), OPTIONS);
    const error = await upstreamError(connector, endpoint, response);
    expect(error.code).toBe('auth_expired');
    expect(error.hint).toBe('sign in again: connectr auth chat');
    expect(seen).toHaveLength(2);
  });

  it('ends --all at the page that failed, after the items before it', async () => {
    handlers['/api/history'] = (req, res) =>
      (req.url ?? '').includes('cursor=c2')
        ? json(res, { ok: false, error: 'ratelimited' })
        : json(res, { ok: true, messages: [1, 2], response_metadata: { next_cursor: 'c2' } });
    const connector = connectorFor(base);
    const endpoint = endpointOf(connector, 'history');
    const items: unknown[] = [];
    let failure: unknown;
    try {
      for await (const item of invokeAll({ connector, endpoint, values: {} }, deps(), OPTIONS))
        items.push(item);
    } catch (error) {
      failure = error;
    }
    expect(items).toEqual([1, 2]);
    expect(failure).toBeInstanceOf(ConnectrError);
    expect((failure as ConnectrError).message).toBe('Chat refused the call (ratelimited)');
  });

  it('stops --all at an empty next cursor', async () => {
    handlers['/api/history'] = (_req, res) =>
      json(res, { ok: true, messages: [1], response_metadata: { next_cursor: '' } });
    const connector = connectorFor(base);
    const endpoint = endpointOf(connector, 'history');
    const items: unknown[] = [];
    for await (const item of invokeAll({ connector, endpoint, values: {} }, deps(), OPTIONS))
      items.push(item);
    expect(items).toEqual([1]);
    expect(seen).toHaveLength(1);
  });
});

describe('arrays of JSON objects as params', () => {
  const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*hi*' } }, { type: 'divider' }];

  it('takes one object per flag, or the whole list as one JSON array, from the command line', async () => {
    handlers['/api/post'] = (_req, res) => json(res, { ok: true });
    const connector = connectorFor(base);
    const endpoint = endpointOf(connector, 'post');
    for (const given of [blocks.map((b) => JSON.stringify(b)), JSON.stringify(blocks), blocks]) {
      await (await invoke({ connector, endpoint, values: { blocks: given } }, deps(), OPTIONS)).body.dump();
    }
    expect(seen.map((s) => JSON.parse(s.body.toString()) as unknown)).toEqual([
      { blocks },
      { blocks },
      { blocks },
    ]);
  });

  it('refuses an element that is not a JSON object, naming the flag, before anything is sent', async () => {
    const connector = connectorFor(base);
    const endpoint = endpointOf(connector, 'post');
    for (const bad of ['{"type":', '[1, 2]', '"text"', '[{"a":1}']) {
      await expect(
        invoke({ connector, endpoint, values: { blocks: [bad] } }, deps(), OPTIONS),
      ).rejects.toThrow(/^--blocks expects a JSON (object|array of objects)/);
    }
    expect(seen).toHaveLength(0);
  });

  it('is a valid param type in a definition, and its default is checked', () => {
    const def = ConnectorSchema.parse({
      name: 'x',
      display_name: 'X',
      version: 1,
      docs_url: 'https://example.com',
      description: 'x',
      hosts: { api: 'https://example.com' },
      auth: { type: 'none' },
      endpoints: {
        a: {
          summary: 'a',
          method: 'POST',
          path: '/a',
          params: { list: { in: 'body', type: 'array', items: 'object', default: [{ a: 1 }, 'b'] } },
        },
      },
    });
    expect(checkConnector(def)).toEqual([
      { path: ['endpoints', 'a', 'params', 'list', 'default'], message: 'default "b" is not of type object' },
    ]);
  });
});

describe('upload_session protocol slack', () => {
  function slackHandlers(): { uploads: Map<string, Buffer> } {
    const uploads = new Map<string, Buffer>();
    handlers['/api/files.getUploadURLExternal'] = (_req, res, body) => {
      const form = new URLSearchParams(body.toString());
      const length = Number(form.get('length'));
      if (!form.get('filename') || !(length > 0)) return json(res, { ok: false, error: 'missing_argument' });
      json(res, { ok: true, upload_url: `${base}/upload/v1/F1?len=${String(length)}`, file_id: 'F1' });
    };
    handlers['/upload/v1/F1'] = (req, res, body) => {
      const expected = Number(new URL(req.url ?? '', base).searchParams.get('len'));
      if (body.length !== expected) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('length mismatch');
        return;
      }
      uploads.set('F1', body);
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${String(body.length)}`);
    };
    handlers['/api/files.completeUploadExternal'] = (_req, res, body) => {
      const given = JSON.parse(body.toString()) as {
        files: { id: string; title?: string }[];
        channel_id?: string;
      };
      const file = given.files[0];
      if (!file || !uploads.has(file.id)) return json(res, { ok: false, error: 'file_not_found' });
      json(res, { ok: true, files: [{ id: file.id, title: file.title ?? 'untitled' }] });
    };
    return { uploads };
  }

  it('asks for an upload URL with the length, POSTs the bytes there without the token, then shares the file', async () => {
    const { uploads } = slackHandlers();
    const file = join(home.dir, 'report.txt');
    writeFileSync(file, 'quarterly numbers\n');
    const connector = connectorFor(base);
    const endpoint = endpointOf(connector, 'upload_file');
    const progress: [number, number | undefined][] = [];
    const response = await invoke(
      {
        connector,
        endpoint,
        values: { file, filename: 'report.txt', title: 'Q3', channel_id: 'C1' },
      },
      deps({ localFiles: true, onUpload: (sent, total) => progress.push([sent, total]) }),
      OPTIONS,
    );
    expect(isErrorAnswer(response)).toBe(false);
    expect(JSON.parse(await response.body.text())).toEqual({ ok: true, files: [{ id: 'F1', title: 'Q3' }] });
    expect(uploads.get('F1')?.toString()).toBe('quarterly numbers\n');
    expect(seen.map((s) => [s.method, s.path.split('?')[0], s.auth])).toEqual([
      ['POST', '/api/files.getUploadURLExternal', 'Bearer t1'],
      ['POST', '/upload/v1/F1', undefined],
      ['POST', '/api/files.completeUploadExternal', 'Bearer t1'],
    ]);
    expect(Object.fromEntries(new URLSearchParams(seen[0]?.body.toString()))).toEqual({
      filename: 'report.txt',
      length: '18',
    });
    expect(seen[1]?.type).toBe('application/octet-stream');
    expect(JSON.parse(seen[2]?.body.toString() ?? '')).toEqual({
      files: [{ id: 'F1', title: 'Q3' }],
      channel_id: 'C1',
    });
    expect(progress.at(-1)).toEqual([18, 18]);
  });

  it('uploads standard input too: its size is learnt by spooling it first', async () => {
    const { uploads } = slackHandlers();
    const connector = connectorFor(base);
    const endpoint = endpointOf(connector, 'upload_file');
    const response = await invoke(
      { connector, endpoint, values: { file: '-', filename: 'notes.txt' } },
      deps({ stdin: () => Readable.from([Buffer.from('from '), Buffer.from('a pipe')]) }),
      OPTIONS,
    );
    expect(isErrorAnswer(response)).toBe(false);
    expect(uploads.get('F1')?.toString()).toBe('from a pipe');
    expect(new URLSearchParams(seen[0]?.body.toString()).get('length')).toBe('11');
  });

  it("a refused step ends the upload with an error naming the step and Slack's code", async () => {
    slackHandlers();
    const connector = connectorFor(base);
    const endpoint = endpointOf(connector, 'upload_file');
    await expect(
      invoke(
        { connector, endpoint, values: { file: '-', filename: 'empty.txt' } },
        deps({ stdin: () => Readable.from([]) }),
        OPTIONS,
      ),
    ).rejects.toThrow('could not start the upload: Chat refused the call (missing_argument)');
    expect(seen).toHaveLength(1);
  });

  it('an upload URL that refuses the bytes stops before the file is shared', async () => {
    slackHandlers();
    handlers['/upload/v1/F1'] = (_req, res) =>
      res.writeHead(500, { 'content-type': 'text/plain' }).end('broken');
    const connector = connectorFor(base);
    const endpoint = endpointOf(connector, 'upload_file');
    await expect(
      invoke(
        { connector, endpoint, values: { file: '-', filename: 'a.txt' } },
        deps({ stdin: () => Readable.from([Buffer.from('abc')]) }),
        OPTIONS,
      ),
    ).rejects.toThrow('could not upload the file: Chat answered 500 Internal Server Error: broken');
    expect(seen.map((s) => s.path.split('?')[0])).not.toContain('/api/files.completeUploadExternal');
  });
});

describe('definition checks', () => {
  const base = {
    name: 'x',
    display_name: 'X',
    version: 1,
    docs_url: 'https://example.com',
    description: 'x',
    hosts: { api: 'https://example.com' },
    auth: { type: 'none' },
  };

  it('expired_codes need code_paths to be read at', () => {
    const def = ConnectorSchema.parse({
      ...base,
      errors: { ok_path: 'ok', expired_codes: ['token_expired'] },
      endpoints: { a: { summary: 'a', method: 'GET', path: '/a' } },
    });
    expect(checkConnector(def)).toEqual([
      {
        path: ['errors', 'expired_codes'],
        message: 'expired_codes are read at code_paths: give code_paths too',
      },
    ]);
  });

  it('the slack upload protocol needs a finish endpoint', () => {
    const def = ConnectorSchema.parse({
      ...base,
      endpoints: {
        start: { summary: 's', method: 'POST', path: '/s' },
        up: {
          summary: 'u',
          method: 'POST',
          path: '/u',
          params: { file: { in: 'raw', type: 'file' } },
          upload_session: { protocol: 'slack', threshold: 0, chunk_size: 1, start: 'start' },
        },
      },
    });
    expect(checkConnector(def)).toEqual([
      {
        path: ['endpoints', 'up', 'upload_session'],
        message: 'the slack upload protocol needs start and finish endpoints',
      },
    ]);
  });
});
