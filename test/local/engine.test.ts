import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectrError } from '../../src/core/errors.js';
import { LocalEngine } from '../../src/local/index.js';
import { startDropboxEmulator } from '../fixtures/emulators/dropbox.js';
import type { DropboxEmulator } from '../fixtures/emulators/dropbox.js';
import { runBin } from '../helpers/bin.js';
import { emulatorEnv } from '../helpers/emulator-env.js';
import { useGmailSignIn } from '../helpers/gmail-sign-in.js';
import { rejection } from '../helpers/rejection.js';
import { FILE_STORE, STORE_VARIANTS } from '../helpers/stores.js';

/**
 * `connectr/local` (src/local): the engine in a program's own process, with the accounts the
 * real CLI signed in (`connectr auth gmail` through a real authorization server and the scripted
 * browser), on each secret store. What the TypeScript SDK's LocalClient runs.
 */
describe.each(STORE_VARIANTS)('connectr/local with the $name store', (store) => {
  describe.skipIf(!store.available)(`(${store.name})`, () => {
    const world = useGmailSignIn();
    let env: Record<string, string>;
    beforeEach(() => {
      env = world.env('follow', store.env);
    });

    async function signIn(account = 'default'): Promise<void> {
      const r = await runBin(['auth', 'gmail', '--account', account], env);
      expect(r.code, r.stderr).toBe(0);
    }

    it('runs an endpoint as the signed-in account and returns the answer as data', async () => {
      await signIn();
      const engine = new LocalEngine({ env });
      const answer = await engine.execute({ connector: 'gmail', endpoint: 'get_profile' });
      expect(answer).toMatchObject({
        status: 200,
        encoding: 'json',
        content_type: expect.stringContaining('application/json') as unknown,
        body: { messagesTotal: 7 },
      });
      // An upstream error is an answer too, with its status: the caller judges it.
      const missing = await engine.execute({
        connector: 'gmail',
        endpoint: 'get_message',
        params: { id: 'nope' },
      });
      expect(missing).toMatchObject({ status: 404, encoding: 'json', body: { error: { code: 404 } } });
    });

    it('follows the pagination with executeAll, up to a limit', async () => {
      await signIn();
      const engine = new LocalEngine({ env });
      const items: unknown[] = [];
      for await (const item of engine.executeAll({
        connector: 'gmail',
        endpoint: 'list_messages',
        params: { maxResults: 2 },
      }))
        items.push(item);
      expect(items).toHaveLength(7);
      const some: unknown[] = [];
      for await (const item of engine.executeAll({
        connector: 'gmail',
        endpoint: 'list_messages',
        params: { maxResults: 2 },
        limit: 3,
      }))
        some.push(item);
      expect(some).toEqual(items.slice(0, 3));
    });

    it('refreshes a token the API refused, replays the call, and keeps the new token for the CLI', async () => {
      await signIn();
      const first = await runBin(['token', 'gmail'], env);
      world.rejectToken(first.stdout.trim());
      const before = world.auth.tokenRequests.length;
      const answer = await new LocalEngine({ env }).execute({ connector: 'gmail', endpoint: 'get_profile' });
      expect(answer.status).toBe(200);
      expect(world.auth.tokenRequests.slice(before).map((r) => r.grant_type)).toEqual(['refresh_token']);
      const after = await runBin(['token', 'gmail'], env);
      expect(after.stdout.trim()).not.toBe(first.stdout.trim());
    });

    it('chooses the account by name; an unknown one is an error that names the known ones', async () => {
      await signIn('home');
      await signIn('work');
      const engine = new LocalEngine({ env });
      const work = await engine.execute({ connector: 'gmail', account: 'work', endpoint: 'get_profile' });
      expect(work.status).toBe(200);
      const unknown = await rejection(
        engine.execute({ connector: 'gmail', account: 'wrok', endpoint: 'get_profile' }),
      );
      expect(unknown).toMatchObject({ code: 'not_found', message: 'no gmail account named "wrok"' });
      expect(unknown.hint).toContain('did you mean "work"?');
      // No account named: the default one (the first signed in), as `connectr call` does.
      const fallback = await engine.execute({ connector: 'gmail', account: '', endpoint: 'get_profile' });
      expect(fallback.status).toBe(200);
    });
  });
});

describe('connectr/local: bad input and the edges', () => {
  const world = useGmailSignIn();
  let dropbox: DropboxEmulator;
  beforeAll(async () => {
    dropbox = await startDropboxEmulator();
    dropbox.addFile('/report.pdf', Buffer.from('%PDF-1.7 fourteen'));
  });
  afterAll(async () => {
    await dropbox.close();
  });

  it('checks every value before reading an account or sending anything', async () => {
    const engine = new LocalEngine({ env: world.env() });
    const before = world.gmail.requests.length;
    const bad = await rejection(
      engine.execute({ connector: 'gmail', endpoint: 'list_messages', params: { maxResults: 'many' } }),
    );
    expect(bad).toMatchObject({
      code: 'invalid_input',
      message: 'params.maxResults expects an integer; got "many"',
    });
    const connector = await rejection(engine.execute({ connector: 'gmial', endpoint: 'get_profile' }));
    expect(connector).toMatchObject({ code: 'not_found', message: 'unknown connector "gmial"' });
    expect(connector.hint).toContain('did you mean "gmail"?');
    const endpoint = await rejection(engine.execute({ connector: 'gmail', endpoint: 'get_profil' }));
    expect(endpoint).toMatchObject({ code: 'not_found', message: 'gmail has no endpoint "get_profil"' });
    expect(endpoint.hint).toContain('did you mean "get_profile"?');
    const both = await rejection(
      engine.execute({ connector: 'gmail', endpoint: 'send_message', body: 'x', bytes: new Uint8Array(1) }),
    );
    expect(both.message).toBe('give body or bytes, not both');
    const limit = await rejection(
      engine.executeAll({ connector: 'gmail', endpoint: 'list_messages', limit: 0 }).next(),
    );
    expect(limit.message).toBe('limit must be a positive whole number, not 0');
    // Not signed in: says how to sign in, after the values were found good.
    const none = await rejection(engine.execute({ connector: 'gmail', endpoint: 'get_profile' }));
    expect(none).toMatchObject({ code: 'auth_required', message: 'not signed in to Gmail' });
    expect(none.hint).toContain('connectr auth gmail');
    expect(world.gmail.requests.length).toBe(before);
  });

  it('asks for nothing: accounts in the encrypted file need the passphrase from the caller or the environment', async () => {
    const env = world.env('follow', FILE_STORE.env);
    const signed = await runBin(['auth', 'gmail'], env);
    expect(signed.code, signed.stderr).toBe(0);
    const { CONNECTR_VAULT_PASSPHRASE: passphrase, ...without } = env;
    const locked = await rejection(
      new LocalEngine({ env: without }).execute({ connector: 'gmail', endpoint: 'get_profile' }),
    );
    expect(locked).toBeInstanceOf(ConnectrError);
    expect(locked).toMatchObject({ code: 'auth_required' });
    expect(locked.hint).toContain('CONNECTR_VAULT_PASSPHRASE');
    const opened = await new LocalEngine({ env: without, passphrase }).execute({
      connector: 'gmail',
      endpoint: 'get_profile',
    });
    expect(opened.status).toBe(200);
  });

  it('returns a binary answer as bytes, with the result the API put in a header; refuses one over the limit', async () => {
    const env = { ...world.home.env, ...emulatorEnv({ dropbox }) };
    const answer = await new LocalEngine({ env }).execute({
      connector: 'dropbox',
      endpoint: 'download',
      params: { path: '/report.pdf' },
    });
    expect(answer.encoding).toBe('binary');
    expect(Buffer.isBuffer(answer.body)).toBe(true);
    expect(String(answer.body)).toBe('%PDF-1.7 fourteen');
    expect(answer.result).toMatchObject({ path_display: '/report.pdf', size: 17 });
    const small = new LocalEngine({ env, maxResponseBytes: 8 });
    const tooLarge = await rejection(
      small.execute({ connector: 'dropbox', endpoint: 'download', params: { path: '/report.pdf' } }),
    );
    expect(tooLarge).toMatchObject({
      code: 'upstream',
      message: 'the upstream answer is larger than 8 bytes',
    });
    expect(tooLarge.hint).toContain('connectr call dropbox download -o FILE');
    expect(() => new LocalEngine({ maxResponseBytes: -1 })).toThrow(
      'maxResponseBytes must be a positive whole number',
    );
  });

  it('stops when the caller aborts, sending nothing', async () => {
    const env = { ...world.home.env, ...emulatorEnv({ dropbox }) };
    const abort = new AbortController();
    abort.abort(new Error('caller stopped'));
    const before = dropbox.content.requests.length;
    // The caller's own reason, as fetch does.
    await expect(
      new LocalEngine({ env }).execute(
        { connector: 'dropbox', endpoint: 'download', params: { path: '/report.pdf' } },
        { signal: abort.signal },
      ),
    ).rejects.toThrow('caller stopped');
    expect(dropbox.content.requests.length).toBe(before);
  });
});
