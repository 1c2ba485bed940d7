/**
 * LocalClient: the generated connector classes run in this process with the local CLI's
 * accounts (the harness signed in a default account of each connector in `local_env`), through
 * connectr's engine (`connectr/local`, the repository's build). They must answer as they do
 * through the daemon. Then a project laid out as npm installs the two packages runs
 * examples/typescript/local-unread.ts, with and without connectr installed.
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConnectrTimeoutError,
  DropboxConnector,
  GmailConnector,
  InvalidInputError,
  LocalClient,
  NotFoundError,
  OnedriveConnector,
} from '../src/index.js';
import type { LocalClientOptions, LocalEngineModule } from '../src/index.js';
import { client, harness } from './harness.js';

const SDK = join(import.meta.dirname, '..');
const ROOT = join(SDK, '..', '..');
let engine: LocalEngineModule;

beforeAll(async () => {
  engine = (await import(pathToFileURL(join(ROOT, 'dist', 'local', 'index.js')).href)) as LocalEngineModule;
});

function local(options: LocalClientOptions = {}): LocalClient {
  return new LocalClient({ env: harness().local_env, engine, ...options });
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('LocalClient with the generated connector classes', () => {
  it('Gmail: the same answers in-process as through the daemon', async () => {
    const here = new GmailConnector(local());
    const there = new GmailConnector(client(), harness().connections.gmail);
    const [profile, remote] = await Promise.all([here.getProfile(), there.getProfile()]);
    expect(profile).toMatchObject({ status: 200, encoding: 'json' });
    expect(profile.body).toEqual(remote.body);
    const ids: string[] = [];
    for await (const item of here.listMessagesAll({ q: 'is:unread', maxResults: 2 }))
      ids.push((item as { id: string }).id);
    const remoteIds: string[] = [];
    for await (const item of there.listMessagesAll({ q: 'is:unread', maxResults: 2 }))
      remoteIds.push((item as { id: string }).id);
    expect(ids).toHaveLength(4);
    expect(ids).toEqual(remoteIds);
    // An upstream error is an answer with its status, as execute gives it.
    const missing = await here.getMessage({ id: 'no-such-message' });
    expect(missing.status).toBe(404);
  });

  it('Dropbox and OneDrive: uploads bytes, answers files as a Uint8Array with the header result', async () => {
    const dropbox = new DropboxConnector(local(), 'default');
    const content = new TextEncoder().encode('written in-process\n');
    const saved = await dropbox.upload({ file: content, path: '/docs/local-ts.txt', mode: 'overwrite' });
    expect(saved.status).toBe(200);
    const got = await dropbox.download({ path: '/docs/local-ts.txt' });
    expect(got.encoding).toBe('base64');
    expect(got.body).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(got.body)).toBe(false);
    expect(new TextDecoder().decode(got.body)).toBe('written in-process\n');
    expect(got.result).toMatchObject({ path_display: '/docs/local-ts.txt' });
    // The daemon's connection reaches the same (emulated) Dropbox: the file is there too.
    const remote = await new DropboxConnector(client(), harness().connections.dropbox).download({
      path: '/docs/local-ts.txt',
    });
    expect(Buffer.from(remote.body).equals(Buffer.from(got.body))).toBe(true);
    const file = await new OnedriveConnector(local()).downloadByPath({ path: 'hello.txt' });
    expect(new TextDecoder().decode(file.body)).toBe('hello from onedrive\n');
  });

  it("raises the same typed errors as ConnectrClient, with connectr's message and hint", async () => {
    const unknownAccount = await caught(new GmailConnector(local(), 'nobody').getProfile());
    expect(unknownAccount).toBeInstanceOf(NotFoundError);
    expect(unknownAccount).toMatchObject({ code: 'not_found', message: 'no gmail account named "nobody"' });
    expect((unknownAccount as NotFoundError).hint).toContain('connectr auth gmail --account nobody');
    const gmail = new GmailConnector(local());
    const bad = { maxResults: 'many' } as unknown as Parameters<GmailConnector['listMessages']>[0];
    const invalid = await caught(gmail.listMessages(bad));
    expect(invalid).toBeInstanceOf(InvalidInputError);
    expect((invalid as Error).message).toBe('params.maxResults expects an integer; got "many"');
    const noConnector = await caught(local().execute({ connection_id: '', endpoint: 'get_profile' }));
    expect(noConnector).toBeInstanceOf(InvalidInputError);
    expect((noConnector as InvalidInputError).field).toBe('connector');
    const unknownConnector = await caught(
      local().execute({ connection_id: '', connector: 'gmial', endpoint: 'get_profile' }),
    );
    expect(unknownConnector).toBeInstanceOf(NotFoundError);
    expect((unknownConnector as NotFoundError).hint).toContain('did you mean "gmail"?');
    expect(() => new LocalClient({ timeoutMs: 0 })).toThrow(InvalidInputError);
  });

  it("stops at the caller's abort with its reason, and at its own time-out with ConnectrTimeoutError", async () => {
    const abort = new AbortController();
    abort.abort(new Error('changed my mind'));
    const stopped = await caught(new GmailConnector(local()).getProfile({}, { signal: abort.signal }));
    expect(stopped).toEqual(new Error('changed my mind'));
    // A base URL that accepts and never answers: the attempt's time-out, no retries.
    const { createServer } = await import('node:net');
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const address = silent.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      // (A token from the environment: the stored account is bound to the harness's base URL.)
      const env = {
        ...harness().local_env,
        CONNECTR_GMAIL_API_BASE_URL: `http://127.0.0.1:${port}`,
        CONNECTR_GMAIL_TOKEN: 'any-token',
      };
      const slow = new GmailConnector(local({ env, timeoutMs: 300, maxRetries: 0 }));
      const timedOut = await caught(slow.getProfile());
      expect(timedOut).toBeInstanceOf(ConnectrTimeoutError);
    } finally {
      silent.close();
    }
  });
});

describe('LocalClient in a project where npm installed it', () => {
  let project = '';
  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'connectr-sdk-local-'));
    // @connectr/sdk as `npm install` lays it out: its package.json and built files, copied.
    const installed = join(project, 'node_modules', '@connectr', 'sdk');
    mkdirSync(installed, { recursive: true });
    cpSync(join(SDK, 'package.json'), join(installed, 'package.json'));
    cpSync(join(SDK, 'dist'), join(installed, 'dist'), { recursive: true });
    // Its dependencies (standardwebhooks) and theirs, as npm installs them, from the repository's node_modules.
    const pending = [SDK];
    for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
      };
      for (const name of Object.keys(manifest.dependencies ?? {})) {
        const target = join(project, 'node_modules', name);
        if (existsSync(target)) continue;
        cpSync(join(ROOT, 'node_modules', name), target, { recursive: true });
        pending.push(target);
      }
    }
    writeFileSync(join(project, 'package.json'), '{ "private": true, "type": "module" }\n');
    for (const file of ['common.ts', 'local-unread.ts'])
      cpSync(join(ROOT, 'examples', 'typescript', file), join(project, file));
  });
  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  async function example(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const tsx = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    return promisify(execFile)(process.execPath, [tsx, 'local-unread.ts', ...args], {
      cwd: project,
      timeout: 60_000,
      env: harness().local_env,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: typeof error.code === 'number' ? error.code : -1,
        stdout: error.stdout ?? '',
        stderr: error.stderr ?? '',
      }),
    );
  }

  it('without the connectr package: says to install it', async () => {
    const r = await example([]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'LocalClient needs the connectr package, which is not installed here (not_found)',
    );
    expect(r.stderr).toContain('hint: npm install connectr');
  });

  it('with connectr installed: examples/typescript/local-unread.ts lists the 4 unread messages', async () => {
    // A directory dependency (`npm install ../connectr`) is a link like this one.
    symlinkSync(ROOT, join(project, 'node_modules', 'connectr'), 'dir');
    const r = await example([]);
    expect(r.stderr).toContain('4 unread message(s)');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split('\t').slice(1)).sort()).toEqual(
      ['Message 1', 'Message 3', 'Message 5', 'Message 7'].map((s) => ['bob@example.com', s]),
    );
    const named = await example(['nobody']);
    expect(named.code).toBe(1);
    expect(named.stderr).toContain('no gmail account named "nobody"');
  });
});
