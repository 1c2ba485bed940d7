import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/core/version.js';
import { runCli } from '../helpers/io.js';
import { emulatorEnv } from '../helpers/emulator-env.js';
import { startProxy } from '../helpers/proxy.js';
import { tempHome } from '../helpers/home.js';
import { startDropboxEmulator } from '../fixtures/emulators/dropbox.js';
import type { DropboxEmulator } from '../fixtures/emulators/dropbox.js';
import { startGmailEmulator } from '../fixtures/emulators/gmail.js';
import type { GmailEmulator } from '../fixtures/emulators/gmail.js';
import { startGraphEmulator } from '../fixtures/emulators/graph.js';
import type { GraphEmulator } from '../fixtures/emulators/graph.js';

/** `connectr call` as a user meets it: flags, output modes, errors, inspection. */
describe('connectr call', () => {
  const home = tempHome();
  let gmail: GmailEmulator;
  let dropbox: DropboxEmulator;
  let graph: GraphEmulator;
  let env: Record<string, string>;
  beforeAll(async () => {
    gmail = await startGmailEmulator({ acceptToken: (t) => t === 'gmail-token' });
    dropbox = await startDropboxEmulator();
    graph = await startGraphEmulator();
    env = {
      ...home.env,
      CONNECTR_GMAIL_API_BASE_URL: gmail.url,
      CONNECTR_GMAIL_TOKEN: 'gmail-token',
      ...emulatorEnv({ dropbox, graph }),
    };
  });
  afterAll(async () => {
    await gmail.close();
    await dropbox.close();
    await graph.close();
    home.cleanup();
  });

  describe('endpoints as commands', () => {
    it('lists the endpoints of a connector', async () => {
      const r = await runCli(['call', 'gmail'], env, { tty: true, columns: 120 });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/ENDPOINT\s+METHOD\s+SUMMARY/);
      expect(r.stdout).toMatch(/list_messages\s+GET\s+List the messages in the mailbox/);
    });

    it('documents an endpoint from its definition', async () => {
      const r = await runCli(['call', 'gmail', 'list_messages', '--help'], env, { columns: 160 });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Usage: connectr call gmail list_messages [options]');
      expect(r.stdout).toMatch(
        /--max-results <integer>\s+Results per page \(Gmail's default 100, at most 500\)\. Range 1\.\.500\./,
      );
      expect(r.stdout).toMatch(/--label-ids <string\.\.\.>/);
      expect(r.stdout).toContain('--all');
      expect(r.stdout).toContain('Paginated (page_token): --all follows every page.');
      expect(r.stdout).toContain(
        'Docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/list',
      );
    });

    it('rejects bad input before sending anything', async () => {
      const before = dropbox.api.requests.length;
      const missing = await runCli(['call', 'dropbox', 'move', '--from-path', '/a'], env);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('error: missing required parameter --to-path for move');
      const wrongType = await runCli(
        ['call', 'dropbox', 'list_folder', '--path', '/', '--page-size', 'lots'],
        env,
      );
      expect(wrongType.code).toBe(1);
      expect(wrongType.stderr).toBe('error: --page-size expects an integer; got "lots"\n');
      const range = await runCli(
        ['call', 'dropbox', 'list_folder', '--path', '/', '--page-size', '5000'],
        env,
      );
      expect(range.stderr).toBe('error: --page-size must be at most 2000; got "5000"\n');
      const choice = await runCli(
        ['call', 'dropbox', 'upload', '--path', '/x', '--mode', 'replace', '--file', 'x'],
        env,
      );
      expect(choice.stderr).toBe('error: --mode must be one of add, overwrite; got "replace"\n');
      const unknownEndpoint = await runCli(['call', 'dropbox', 'list_foldr'], env);
      expect(unknownEndpoint.code).toBe(1);
      expect(unknownEndpoint.stderr).toContain(
        'error: dropbox has no endpoint "list_foldr"\nhint: did you mean "list_folder"?',
      );
      const unknownFlag = await runCli(['call', 'dropbox', 'list_folder', '--pth', '/'], env);
      expect(unknownFlag.code).toBe(2);
      expect(unknownFlag.stderr).toContain("error: unknown option '--pth'");
      expect(unknownFlag.stderr).toContain('(Did you mean --path?)');
      const misuse = await runCli(['call', 'dropbox', 'list_folder', '--path', '/', '--limit', '5'], {
        ...home.env,
      });
      expect(misuse.stderr).toBe('error: --max-pages and --limit go with --all\n');
      expect(dropbox.api.requests.length).toBe(before);
    });

    it('--param sets a declared param or adds a query parameter; --body sends a body as given', async () => {
      const before = gmail.requests.length;
      expect(
        (
          await runCli(
            ['call', 'gmail', 'list_messages', '--param', 'maxResults=2', '--param', 'fields=messages(id)'],
            env,
          )
        ).code,
      ).toBe(0);
      const sent = gmail.requests[before];
      expect(sent?.url.searchParams.get('maxResults')).toBe('2');
      expect(sent?.url.searchParams.get('fields')).toBe('messages(id)');
      const file = join(home.dir, 'args.json');
      writeFileSync(file, '{"path": "/Documents", "limit": 1}');
      const r = await runCli(['call', 'dropbox', 'list_folder', '--body', `@${file}`], env);
      expect(r.code, r.stderr).toBe(0);
      expect(dropbox.api.requests.at(-1)?.body.toString()).toBe('{"path": "/Documents", "limit": 1}');
      const fromStdin = await runCli(['call', 'dropbox', 'get_metadata', '--data', '-'], env, {
        stdin: '{"path":"/readme.md"}',
      });
      expect(fromStdin.code, fromStdin.stderr).toBe(0);
      expect(JSON.parse(fromStdin.stdout)).toMatchObject({ name: 'readme.md' });
    });
  });

  describe('responses', () => {
    it('prints JSON indented on a terminal and compact in a pipe; --raw as received', async () => {
      const tty = await runCli(['call', 'gmail', 'get_profile'], env, { tty: true });
      expect(tty.stdout).toBe(`${JSON.stringify(JSON.parse(tty.stdout), null, 2)}\n`);
      const piped = await runCli(['call', 'gmail', 'get_profile'], env);
      expect(piped.stdout).toBe(`${JSON.stringify(JSON.parse(piped.stdout))}\n`);
      const raw = await runCli(['call', 'gmail', 'get_profile', '--raw'], env, { tty: true });
      expect(raw.stdout).toBe(
        JSON.stringify({
          emailAddress: 'ann@example.com',
          messagesTotal: 7,
          threadsTotal: 5,
          historyId: '4321',
        }),
      );
    });

    it('never dumps a file on a terminal, and says how to save it', async () => {
      const before = dropbox.content.requests.length;
      const r = await runCli(['call', 'dropbox', 'download', '--path', '/Documents/report.pdf'], env, {
        tty: true,
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        'error: dropbox download returns a file, which is not printed on a terminal\nhint: save it with -o FILE',
      );
      expect(dropbox.content.requests.length).toBe(before);
    });

    it('saves a file with -o and prints the result carried in Dropbox-API-Result', async () => {
      const out = join(home.dir, 'report.pdf');
      const r = await runCli(
        ['call', 'dropbox', 'download', '--path', '/Documents/report.pdf', '-o', out],
        env,
        { tty: true },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(out, 'utf8')).toBe('%PDF-1.7 report');
      expect(JSON.parse(r.stdout)).toMatchObject({ '.tag': 'file', name: 'report.pdf', size: 15 });
    });

    it('--include shows the status line and headers', async () => {
      const text = await runCli(['call', 'gmail', 'get_profile', '--include'], env, { tty: true });
      expect(text.stdout).toMatch(/^HTTP\/1\.1 200 OK\ncontent-type: application\/json; charset=utf-8\n/);
      const json = await runCli(['call', 'gmail', 'get_profile', '--include'], env);
      expect(JSON.parse(json.stdout)).toMatchObject({
        status: 200,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: { emailAddress: 'ann@example.com' },
      });
    });

    it("prints upstream errors in the provider's words with exit code 4", async () => {
      const dbx = await runCli(['call', 'dropbox', 'get_metadata', '--path', '/nope.txt'], env, {
        tty: true,
      });
      expect(dbx.code).toBe(4);
      expect(dbx.stderr).toBe('error: Dropbox answered 409 Conflict (path): path/not_found/..\n');
      const g = await runCli(['call', 'gmail', 'get_message', '--id', 'missing'], env, { tty: true });
      expect(g.stderr).toBe(
        'error: Gmail answered 404 Not Found (NOT_FOUND): Requested entity was not found.\n',
      );
      const od = await runCli(['call', 'onedrive', 'get_item', '--item-id', 'missing'], env, { tty: true });
      expect(od.stderr).toBe(
        'error: OneDrive answered 404 Not Found (itemNotFound): The resource could not be found.\n',
      );
      const json = await runCli(['call', 'dropbox', 'get_metadata', '--path', '/nope.txt'], env);
      expect(JSON.parse(json.stdout)).toEqual({
        error: {
          status: 409,
          body: {
            error_summary: 'path/not_found/..',
            error: { '.tag': 'path', path: { '.tag': 'not_found' } },
          },
        },
      });
    });

    it('a rejected token from the environment exits 3 and names its variable (signing in would not help)', async () => {
      const r = await runCli(['call', 'gmail', 'get_profile'], { ...env, CONNECTR_GMAIL_TOKEN: 'stale' });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(
        'error: Gmail answered 401 Unauthorized (UNAUTHENTICATED): Request had invalid authentication credentials.',
      );
      expect(r.stderr).toContain(
        'hint: the API refused the token in $CONNECTR_GMAIL_TOKEN: replace it or unset it',
      );
      expect(r.stderr).not.toContain('connectr auth');
      expect(r.stderr).not.toContain('stale');
    });

    it('follows a redirect to a pre-authenticated URL without the Authorization header', async () => {
      const before = graph.downloads.requests.length;
      const r = await runCli(['call', 'onedrive', 'download', '--item-id', '01ITEM0003'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('quarterly report\n');
      const fetched = graph.downloads.requests.slice(before);
      expect(fetched).toHaveLength(1);
      expect(fetched[0]?.headers.authorization).toBeUndefined();
    });
  });

  describe('networks', () => {
    it('goes through the proxy named by HTTP_PROXY, except for NO_PROXY hosts', async () => {
      const proxy = await startProxy();
      try {
        const through = await runCli(['call', 'gmail', 'get_profile'], { ...env, HTTP_PROXY: proxy.url });
        expect(through.code, through.stderr).toBe(0);
        expect(JSON.parse(through.stdout)).toMatchObject({ emailAddress: 'ann@example.com' });
        const host = new URL(gmail.url).host;
        expect(proxy.targets.some((t) => t.includes(host))).toBe(true);
        const seen = proxy.targets.length;
        const direct = await runCli(['call', 'gmail', 'get_profile'], {
          ...env,
          HTTP_PROXY: proxy.url,
          NO_PROXY: '127.0.0.1',
        });
        expect(direct.code, direct.stderr).toBe(0);
        expect(proxy.targets.length).toBe(seen);
      } finally {
        await proxy.close();
      }
    });
  });

  describe('inspection', () => {
    it('--dry-run prints the exact request with secrets hidden, and sends nothing', async () => {
      const before = dropbox.api.requests.length;
      const r = await runCli(
        [
          'call',
          'dropbox',
          'create_shared_link',
          '--path',
          '/Documents/report.pdf',
          '--require-password',
          '--link-password',
          'hunter2',
          '--dry-run',
        ],
        env,
        { tty: true },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(
        [
          `POST ${dropbox.api.url}/2/sharing/create_shared_link_with_settings`,
          'Authorization: Bearer <redacted>',
          `User-Agent: connectr/${VERSION}`,
          'Content-Type: application/json',
          '',
          '{"path":"/Documents/report.pdf","settings":{"require_password":true,"link_password":"<redacted>"}}',
          '',
        ].join('\n'),
      );
      expect(r.stdout).not.toContain('hunter2');
      expect(dropbox.api.requests.length).toBe(before);

      // The body shown is the body sent, byte for byte (it was pretty-printed, and sent compact).
      const args = [
        'call',
        'dropbox',
        'create_shared_link',
        '--path',
        '/Documents/report.pdf',
        '--require-password',
      ];
      const shown = await runCli([...args, '--dry-run'], env, { tty: true });
      const sent = await runCli(args, env);
      expect(sent.code, sent.stderr).toBe(0);
      const received = dropbox.api.requests.at(-1);
      expect(received?.url.pathname).toBe('/2/sharing/create_shared_link_with_settings');
      expect(shown.stdout.split('\n\n')[1]).toBe(`${received?.body.toString('utf8') ?? ''}\n`);
      const json = await runCli(
        ['call', 'dropbox', 'upload', '--path', '/Résumé.txt', '--file', 'cv.txt', '--dry-run'],
        env,
      );
      expect(JSON.parse(json.stdout)).toEqual({
        method: 'POST',
        url: `${dropbox.content.url}/2/files/upload`,
        headers: {
          authorization: 'Bearer <redacted>',
          'dropbox-api-arg': '{"path":"/R\\u00e9sum\\u00e9.txt"}',
          'user-agent': `connectr/${VERSION}`,
          'content-type': 'application/octet-stream',
        },
        body: '<contents of cv.txt>',
      });
    });

    it('--curl prints a command that fetches the token when it runs', async () => {
      const r = await runCli(
        [
          'call',
          'gmail',
          'list_messages',
          '--max-results',
          '5',
          '--label-ids',
          'INBOX',
          '--curl',
          '--account',
          'work',
        ],
        env,
      );
      expect(r.stdout).toBe(
        `curl '${gmail.url}/gmail/v1/users/me/messages?maxResults=5&labelIds=INBOX' \\\n  -H "Authorization: Bearer $(connectr token gmail --account work)" \\\n  -H 'User-Agent: connectr/${VERSION}' \\\n  -H 'Accept: application/json'\n`.replace(
          " \\\n  -H 'Accept: application/json'",
          '',
        ),
      );
    });
  });
});
