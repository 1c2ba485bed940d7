import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDropboxEmulator } from '../fixtures/emulators/dropbox.js';
import type { DropboxEmulator } from '../fixtures/emulators/dropbox.js';
import { startGmailEmulator } from '../fixtures/emulators/gmail.js';
import type { GmailEmulator } from '../fixtures/emulators/gmail.js';
import { startGraphEmulator } from '../fixtures/emulators/graph.js';
import type { GraphEmulator } from '../fixtures/emulators/graph.js';
import { startEmulator } from '../fixtures/emulators/server.js';
import type { Emulator } from '../fixtures/emulators/server.js';
import { emulatorEnv } from '../helpers/emulator-env.js';
import { tempHome } from '../helpers/home.js';
import { runCli } from '../helpers/io.js';

/**
 * `connectr api` (any path on a connector's hosts, signed in) and what it shares with `connectr
 * call`: -H, --jq (real jq, WebAssembly) and --verbose. Against the emulators, in-process.
 */
describe('connectr api, and -H / --jq / --verbose on call', () => {
  const home = tempHome();
  let gmail: GmailEmulator;
  let dropbox: DropboxEmulator;
  let graph: GraphEmulator;
  /** A host that is no connector's: nothing may ever reach it. */
  let elsewhere: Emulator;
  let env: Record<string, string>;
  beforeAll(async () => {
    gmail = await startGmailEmulator({ acceptToken: (t) => t === 'gmail-token' });
    dropbox = await startDropboxEmulator();
    graph = await startGraphEmulator();
    elsewhere = await startEmulator((_req, res) => {
      res.end('{}');
    });
    env = {
      ...home.env,
      CONNECTR_GMAIL_API_BASE_URL: gmail.url,
      CONNECTR_GMAIL_TOKEN: 'gmail-token',
      ...emulatorEnv({ dropbox, graph }),
    };
  });
  afterAll(async () => {
    await Promise.all([gmail.close(), dropbox.close(), graph.close(), elsewhere.close()]);
    home.cleanup();
  });
  let before: number;
  beforeEach(() => {
    before = gmail.requests.length;
  });
  const sent = (): GmailEmulator['requests'] => gmail.requests.slice(before);

  describe('connectr api', () => {
    it('calls any path on the host, signed in, and prints the JSON answer', async () => {
      const r = await runCli(['api', 'gmail', '/gmail/v1/users/me/profile'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ messagesTotal: 7 });
      expect(sent().map((q) => [q.method, q.url.pathname, q.headers.authorization])).toEqual([
        ['GET', '/gmail/v1/users/me/profile', 'Bearer gmail-token'],
      ]);
      // A full URL on the connector's host is the same call.
      const full = await runCli(['api', 'gmail', `${gmail.url}/gmail/v1/users/me/profile`], env);
      expect(full.code, full.stderr).toBe(0);
    });

    it('refuses a full URL on another host before anything is read or sent', async () => {
      const r = await runCli(['api', 'gmail', `${elsewhere.url}/gmail/v1/users/me/profile`], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${elsewhere.url}/gmail/v1/users/me/profile is not on a host of gmail`);
      expect(r.stderr).toContain('only to its own hosts');
      const sneaky = await runCli(['api', 'gmail', '//evil.example/x'], env);
      expect(sneaky.code).toBe(2);
      const dots = await runCli(['api', 'gmail', '/gmail/v1/../../x'], env);
      expect(dots.code).toBe(1);
      expect(dots.stderr).toContain('".." segment');
      expect(elsewhere.requests).toHaveLength(0);
      expect(sent()).toHaveLength(0);
    });

    it('-f builds the query of a GET and the JSON body of a POST; -X picks the method', async () => {
      // As gh api: fields make the default method POST; with -X GET they are the query.
      const list = await runCli(
        [
          'api',
          'gmail',
          '/gmail/v1/users/me/messages',
          '-X',
          'GET',
          '-f',
          'maxResults=2',
          '-f',
          'labelIds[]=INBOX',
          '-f',
          'labelIds[]=UNREAD',
        ],
        env,
      );
      expect(list.code, list.stderr).toBe(0);
      expect(JSON.parse(list.stdout)).toMatchObject({ messages: [{}, {}] });
      const query = sent()[0]?.url.searchParams;
      expect(query?.get('maxResults')).toBe('2');
      expect(query?.getAll('labelIds')).toEqual(['INBOX', 'UNREAD']);
      const folder = await runCli(
        ['api', 'dropbox', '/2/files/create_folder_v2', '-f', 'path=/made-by-api'],
        env,
      );
      expect(folder.code, folder.stderr).toBe(0);
      const request = dropbox.api.requests.at(-1);
      expect(request?.method).toBe('POST');
      expect(request?.headers['content-type']).toBe('application/json');
      expect(JSON.parse(String(request?.body))).toEqual({ path: '/made-by-api' });
      const bad = await runCli(['api', 'gmail', '/x', '-X', 'BREW'], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('-X BREW is not a method connectr sends');
      const noValue = await runCli(['api', 'gmail', '/x', '-f', 'novalue'], env);
      expect(noValue.code).toBe(2);
      expect(noValue.stderr).toContain('-f "novalue" is not key=value');
    });

    it('--input sends a file as the body (then -f goes to the query)', async () => {
      const file = join(home.dir, 'folder.json');
      writeFileSync(file, '{"path": "/from-input"}');
      const r = await runCli(
        ['api', 'dropbox', '/2/files/create_folder_v2', '-X', 'POST', '--input', file],
        env,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(String(dropbox.api.requests.at(-1)?.body)).toBe('{"path": "/from-input"}');
    });

    it('refuses an unknown host and flags that do not go together, sending nothing', async () => {
      const cases: [string[], string][] = [
        [['--host', 'nope'], 'gmail has no host "nope"'],
        [['--max-pages', '2'], '--max-pages goes with --paginate'],
        [['--paginate', '-o', join(home.dir, 'out.json')], '--paginate prints one JSON line per item'],
        [['--jq', '.', '--raw'], '--jq and --raw do not go together'],
        [['--force'], '--force goes with -H'],
      ];
      for (const [flags, message] of cases) {
        const r = await runCli(['api', 'gmail', '/gmail/v1/users/me/profile', ...flags], env);
        expect(r.code, flags.join(' ')).toBe(2);
        expect(r.stderr).toContain(message);
      }
      expect(sent()).toHaveLength(0);
    });

    it('names a missing body file before looking up an account (call and api alike)', async () => {
      const signedOut = { ...home.env, ...emulatorEnv({ dropbox }), CONNECTR_DROPBOX_TOKEN: '' };
      const missing = join(home.dir, 'no-such-file.bin');
      for (const args of [
        ['api', 'dropbox', '/2/files/create_folder_v2', '-X', 'POST', '--input', missing],
        ['call', 'dropbox', 'upload', '--file', missing, '--path', '/x.bin'],
      ]) {
        const r = await runCli(args, signedOut);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toContain(`cannot read ${missing}`);
      }
    });

    it("--paginate follows the matching endpoint's pagination; --jq filters each item", async () => {
      const r = await runCli(
        ['api', 'gmail', '/gmail/v1/users/me/messages?maxResults=2', '--paginate', '--jq', '.id'],
        env,
      );
      expect(r.code, r.stderr).toBe(0);
      const ids = r.stdout.trim().split('\n');
      expect(ids).toHaveLength(7);
      expect(ids.every((id) => /^[0-9a-f]+$/.test(id))).toBe(true);
      // Four pages, each asking for the next one by Gmail's pageToken.
      expect(sent().map((q) => q.url.searchParams.has('pageToken'))).toEqual([false, true, true, true]);
      const capped = await runCli(
        ['api', 'gmail', '/gmail/v1/users/me/messages?maxResults=2', '--paginate', '--max-pages', '1'],
        env,
      );
      expect(capped.stdout.trim().split('\n')).toHaveLength(2);
    });

    it('--paginate elsewhere follows Link headers, and a page that is no list is one item', async () => {
      const pages = await startEmulator((req, res) => {
        const page = Number(req.url.searchParams.get('page') ?? '1');
        if (page < 3) res.setHeader('link', `<${req.url.pathname}?page=${page + 1}>; rel="next"`);
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify(
            page === 3
              ? { done: true }
              : [
                  { page, n: 1 },
                  { page, n: 2 },
                ],
          ),
        );
      });
      try {
        const r = await runCli(
          ['api', 'gmail', '/items', '--paginate', '--jq', '[.page, .n // .done] | @tsv'],
          {
            ...env,
            CONNECTR_GMAIL_API_BASE_URL: pages.url,
          },
        );
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe('1\t1\n1\t2\n2\t1\n2\t2\n\ttrue\n');
        expect(pages.requests.every((q) => q.headers.authorization === 'Bearer gmail-token')).toBe(true);
      } finally {
        await pages.close();
      }
    });

    it("--dry-run shows the request; an upstream error exits 4 in the API's words", async () => {
      const dry = await runCli(
        ['api', 'gmail', '/gmail/v1/users/me/messages', '-X', 'get', '-f', 'q=is:unread', '--dry-run'],
        env,
      );
      expect(dry.code).toBe(0);
      expect(JSON.parse(dry.stdout)).toMatchObject({
        method: 'GET',
        url: `${gmail.url}/gmail/v1/users/me/messages?q=is%3Aunread`,
      });
      expect(dry.stdout).not.toContain('gmail-token');
      const missing = await runCli(['api', 'gmail', '/gmail/v1/users/me/messages/nope'], env);
      expect(missing.code).toBe(4);
      expect(missing.stderr).toContain('404');
      expect(sent()).toHaveLength(1);
    });
  });

  describe('-H', () => {
    it('adds headers to call and api; a header given twice keeps both values', async () => {
      const r = await runCli(
        [
          'call',
          'gmail',
          'get_profile',
          '-H',
          'X-Trace: abc',
          '-H',
          'Accept-Language: fr',
          '-H',
          'x-trace: def',
        ],
        env,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(sent()[0]?.headers).toMatchObject({
        'x-trace': 'abc, def',
        'accept-language': 'fr',
        authorization: 'Bearer gmail-token',
      });
      const api = await runCli(['api', 'gmail', '/gmail/v1/users/me/profile', '-H', 'X-Trace: ghi'], env);
      expect(api.code, api.stderr).toBe(0);
      expect(sent()[1]?.headers['x-trace']).toBe('ghi');
    });

    it('refuses a header without a colon, a bad name, a line break, and framing headers, sending nothing', async () => {
      const cases: [string, number, string][] = [
        ['X-Trace abc', 2, '-H "X-Trace abc" has no colon'],
        ['Bad Name: x', 2, '"Bad Name" is not a header name'],
        ['X-Trace: a\r\nX-Evil: b', 1, 'control character'],
        ['Content-Length: 5', 2, '-H Content-Length is set by connectr itself'],
      ];
      for (const [header, code, message] of cases) {
        const r = await runCli(['call', 'gmail', 'get_profile', '-H', header], env);
        expect(r.code, header).toBe(code);
        expect(r.stderr).toContain(message);
      }
      expect(sent()).toHaveLength(0);
    });

    it('Authorization only with --force, which then sends no stored credential and hides it in --dry-run', async () => {
      const refused = await runCli(['call', 'gmail', 'get_profile', '-H', 'Authorization: Bearer mine'], env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('-H Authorization would replace the credential connectr adds');
      expect(refused.stderr).toContain('--force');
      const dry = await runCli(
        ['call', 'gmail', 'get_profile', '-H', 'Authorization: Bearer mine', '--force', '--dry-run'],
        env,
      );
      expect(dry.stdout).not.toContain('mine');
      const forced = await runCli(
        ['call', 'gmail', 'get_profile', '-H', 'Authorization: Bearer mine', '--force'],
        env,
      );
      expect(forced.code).toBe(3); // the emulator accepts only gmail-token: the stored one was not sent
      expect(sent().map((q) => q.headers.authorization)).toEqual(['Bearer mine']);
      const alone = await runCli(['call', 'gmail', 'get_profile', '--force'], env);
      expect(alone.code).toBe(2);
      expect(alone.stderr).toContain('--force goes with -H');
    });
  });

  describe('--jq', () => {
    it('filters the answer with real jq: strings raw, values as JSON', async () => {
      const r = await runCli(
        ['call', 'gmail', 'list_messages', '--jq', '.messages[] | .id', '--max-results', '3'],
        env,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(3);
      const values = await runCli(
        ['call', 'gmail', 'get_profile', '--jq', '{total: .messagesTotal, kinds: [1, "a"]}'],
        env,
      );
      expect(values.stdout).toBe('{"total":7,"kinds":[1,"a"]}\n');
      // Exactly as jq -r prints: whitespace inside a string kept; an error after some results
      // still fails the command, after them.
      const spaces = await runCli(
        [
          'call',
          'gmail',
          'get_profile',
          '--jq',
          '"\\tindented  ", ([1,2][] | if . == 2 then error("two") else . end) # comment',
        ],
        env,
      );
      expect(spaces.stdout).toBe('\tindented  \n1\n');
      expect(spaces.code).toBe(1);
      expect(spaces.stderr).toContain('--jq: two');
      const all = await runCli(
        [
          'call',
          'gmail',
          'list_messages',
          '--all',
          '--max-results',
          '2',
          '--jq',
          'select(.id != null) | .threadId',
        ],
        env,
      );
      expect(all.stdout.trim().split('\n')).toHaveLength(7);
    });

    it("a syntax error stops before anything is sent, naming it; a runtime error names jq's message", async () => {
      const r = await runCli(['call', 'gmail', 'get_profile', '--jq', '.messages[ | .id'], env);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--jq: jq: error: syntax error');
      expect(sent()).toHaveLength(0);
      const runtime = await runCli(['call', 'gmail', 'get_profile', '--jq', '.emailAddress | .[0]'], env);
      expect(runtime.code).toBe(1);
      expect(runtime.stderr).toContain('--jq: Cannot index string with number');
      const file = await runCli(['call', 'dropbox', 'download', '--path', '/x', '--jq', '.'], env);
      expect(file.code).toBe(2);
      expect(file.stderr).toContain('--jq filters JSON, and download answers a file');
      const both = await runCli(['call', 'gmail', 'get_profile', '--jq', '.', '--raw'], env);
      expect(both.code).toBe(2);
    });
  });

  describe('--verbose', () => {
    it('prints each answer: status, headers with secrets hidden, time', async () => {
      gmail.faults.push({
        status: 200,
        headers: {
          'set-cookie': 'session=s3cr3t',
          'x-session-token': 'tok-123',
          'x-served-by': 'emulator',
          'content-type': 'application/json',
        },
        body: { emailAddress: 'a@example.com' },
      });
      const r = await runCli(['call', 'gmail', 'get_profile', '--verbose'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        new RegExp(`< 200 OK \\(\\d+ ms\\) GET ${gmail.url}/gmail/v1/users/me/profile`),
      );
      expect(r.stderr).toContain('< X-Served-By: emulator');
      expect(r.stderr).toContain('< Set-Cookie: <redacted>');
      expect(r.stderr).toContain('< X-Session-Token: <redacted>');
      expect(r.stderr).not.toContain('s3cr3t');
      expect(r.stderr).not.toContain('tok-123');
      expect(r.stderr).not.toContain('gmail-token');
    });
  });
});
