import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BUILTIN_CONNECTORS_DIR } from '../../src/core/connector/registry.js';
import { runCli } from '../helpers/io.js';
import { tempHome } from '../helpers/home.js';

/**
 * Connector versions on the command line: `connectors diff`, `connectors show name@N`,
 * `generate --connector name@N`, and `call` through an account made with an older version
 * (its paths while that version is loaded; the newest, said once on stderr, once it is not).
 */

const gmail = readFileSync(join(BUILTIN_CONNECTORS_DIR, 'gmail.yaml'), 'utf8');

/** `svc` at `version`: v1 has me and old, v2 moves me to /v2, drops old, adds items and a param. */
function svc(version: number, extra = ''): string {
  const v2 = version > 1;
  return `name: svc
display_name: Svc
version: ${version}
docs_url: https://example.com/docs
description: Test service.
hosts:
  api: https://api.example.com
auth:
  type: api_key
  in: header
  name: X-Api-Key
endpoints:
  me:
    summary: Who am I.
    method: GET
    path: /v${version}/me
    params:
      fields:
        in: query
        type: ${v2 ? 'array\n        items: string' : 'string'}
${v2 ? '      detail:\n        in: query\n        type: boolean\n' : ''}      token:
        in: query
        secret: true
        default: ${v2 ? 'new-SECRET-default' : 'old-SECRET-default'}
${v2 ? '  items:\n    summary: Items.\n    method: GET\n    path: /v2/items\n' : '  old:\n    summary: Old.\n    method: GET\n    path: /old\n'}${extra}`;
}

describe('connector versions on the command line', () => {
  let home: ReturnType<typeof tempHome>;
  let dir: string;
  beforeEach(() => {
    home = tempHome();
    dir = join(home.dir, 'connectors');
    mkdirSync(dir);
    writeFileSync(join(dir, 'svc@1.yaml'), svc(1));
    writeFileSync(join(dir, 'svc.yaml'), svc(2));
  });
  afterEach(() => {
    home.cleanup();
  });

  describe('connectors diff', () => {
    it('lists added, removed and changed endpoints and params, never a secret default', async () => {
      const r = await runCli(['connectors', 'diff', 'svc@1', 'svc@2'], home.env, { tty: true });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        [
          'svc@1 -> svc@2',
          '+ endpoint items',
          '- endpoint old',
          '~ endpoint me',
          '    ~ path: "/v1/me" -> "/v2/me"',
          '    + param detail',
          '    ~ param fields',
          '        ~ items: (none) -> "string"',
          '        ~ type: "string" -> "array"',
          '    ~ param token',
          '        ~ default: changed (secret, not shown)',
          '',
        ].join('\n'),
      );
      expect(r.stdout).not.toContain('SECRET');
    });

    it('prints JSON with --json, and a plain name is the newest version', async () => {
      const r = await runCli(['--json', 'connectors', 'diff', 'svc@1', 'svc'], home.env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toContain('SECRET');
      expect(JSON.parse(r.stdout)).toMatchObject({
        from: { name: 'svc', version: 1 },
        to: { name: 'svc', version: 2 },
        hosts: { added: [], removed: [], changed: [] },
        scopes: { added: [], removed: [] },
        endpoints: {
          added: ['items'],
          removed: ['old'],
          changed: [
            {
              name: 'me',
              changes: [{ field: 'path', from: '/v1/me', to: '/v2/me' }],
              params: { added: ['detail'], removed: [] },
            },
          ],
        },
      });
    });

    it('says so when two versions do not differ, and shows scopes added', async () => {
      writeFileSync(join(dir, 'gmail@2.yaml'), gmail.replace(/^version: 1$/m, 'version: 2'));
      const same = await runCli(['connectors', 'diff', 'gmail@1', 'gmail@2'], home.env, { tty: true });
      expect(same.stdout).toBe(
        'gmail@1 -> gmail@2\n  no differences in hosts, endpoints, params or scopes\n',
      );
      writeFileSync(
        join(dir, 'gmail@2.yaml'),
        gmail
          .replace(/^version: 1$/m, 'version: 2')
          .replace(
            '  scopes:\n    - https://www.googleapis.com/auth/gmail.modify\n',
            '  scopes:\n    - https://www.googleapis.com/auth/gmail.modify\n    - https://www.googleapis.com/auth/gmail.labels\n',
          ),
      );
      const more = await runCli(['connectors', 'diff', 'gmail@1', 'gmail@2'], home.env, { tty: true });
      expect(more.code, more.stderr).toBe(0);
      expect(more.stdout).toContain('+ scope "https://www.googleapis.com/auth/gmail.labels"');
    });

    it('shows a base URL that moved, and hosts added and removed', async () => {
      writeFileSync(
        join(dir, 'svc.yaml'),
        svc(2).replace(
          '  api: https://api.example.com\n',
          '  api: https://api.example.com/v2\n  files: https://files.example.com\n',
        ),
      );
      const r = await runCli(['connectors', 'diff', 'svc@1', 'svc@2'], home.env, { tty: true });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(
        [
          '+ host files',
          '~ host api',
          '    ~ url: "https://api.example.com" -> "https://api.example.com/v2"',
        ].join('\n'),
      );
    });

    it('shows a hostile value as JSON: it cannot forge a line of its own', async () => {
      writeFileSync(
        join(dir, 'svc.yaml'),
        svc(2).replace('path: /v2/me', 'path: "/v2/me\\nhint: run rm -rf"'),
      );
      const r = await runCli(['connectors', 'diff', 'svc@1', 'svc@2'], home.env, { tty: true });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('    ~ path: "/v1/me" -> "/v2/me\\nhint: run rm -rf"\n');
      expect(r.stdout).not.toMatch(/^hint:/m);
    });

    it.each([
      [['svc@x', 'svc@2'], 2, 'error: "svc@x" is not a connector name or <name>@<version>', 'gmail@1'],
      [['svc@1', 'svc@'], 2, 'error: "svc@" is not a connector name or <name>@<version>', 'gmail@1'],
      [['svc@1', 'svc@0'], 2, 'error: "svc@0" is not a connector name or <name>@<version>', 'gmail@1'],
      [['svc@1', 'svc@9'], 1, 'error: connector svc has no version 9', 'loaded versions: 2, 1'],
      [['svx@1', 'svc@2'], 1, 'error: unknown connector "svx"', 'did you mean "svc"?'],
    ])('refuses %j (exit %i) with a hint', async (refs, code, message, hint) => {
      const r = await runCli(['connectors', 'diff', ...refs], home.env);
      expect(r.code).toBe(code);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(message);
      expect(r.stderr).toMatch(new RegExp(`hint: .*${hint.replace(/[.*?()]/g, '\\$&')}`));
    });
  });

  it('connectors show lists the versions and shows an older one by name@version', async () => {
    const newest = await runCli(['connectors', 'show', 'svc'], home.env, { tty: true });
    expect(newest.stdout).toContain('Svc (svc), definition version 2');
    expect(newest.stdout).toContain('Versions: 2, 1 (newest first; show one with svc@<version>)');
    const old = await runCli(['connectors', 'show', 'svc@1'], home.env, { tty: true });
    expect(old.code, old.stderr).toBe(0);
    expect(old.stdout).toContain('definition version 1');
    expect(old.stdout).toContain('/v1/me');
    expect(JSON.parse((await runCli(['connectors', 'show', 'svc'], home.env)).stdout)).toMatchObject({
      version: 2,
      versions: [2, 1],
    });
  });

  describe('generate --connector', () => {
    it('renders the version named, the newest for a plain name', async () => {
      const out = join(home.dir, 'out');
      const one = await runCli(
        ['generate', '--lang', 'typescript', '--connector', 'svc@1', '--out', out],
        home.env,
      );
      expect(one.code, one.stderr).toBe(0);
      const written = JSON.parse(one.stdout) as { written: string[] };
      const text = written.written.map((file) => readFileSync(file, 'utf8')).join('\n');
      // Version 1's endpoints: old, not version 2's items.
      expect(text).toContain('Old.');
      expect(text).not.toContain('Items.');
      rmSync(out, { recursive: true, force: true });
      const newest = await runCli(
        ['generate', '--lang', 'typescript', '--connector', 'svc', '--out', out],
        home.env,
      );
      const files = (JSON.parse(newest.stdout) as { written: string[] }).written;
      expect(files.map((file) => readFileSync(file, 'utf8')).join('\n')).toContain('Items.');
    });

    it('refuses two versions of one connector, a bad version, and an unknown one', async () => {
      const out = join(home.dir, 'out');
      const both = await runCli(
        ['generate', '--lang', 'typescript', '--connector', 'svc@1', '--connector', 'svc@2', '--out', out],
        home.env,
      );
      expect(both.code).toBe(2);
      expect(both.stderr).toContain('--connector names two versions of svc (1 and 2)');
      const bad = await runCli(['generate', '--connector', 'svc@one', '--out', out], home.env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('"svc@one" is not a connector name or <name>@<version>');
      const missing = await runCli(['generate', '--connector', 'svc@3', '--out', out], home.env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('connector svc has no version 3');
      const builtinOld = await runCli(
        ['generate', '--builtin', '--connector', 'svc@1', '--out', out],
        home.env,
      );
      expect(builtinOld.code).toBe(2);
      expect(builtinOld.stderr).toContain('svc@1 is not a built-in connector (--builtin)');
    });
  });
});

describe('connectr call through an account made with an older version', () => {
  let home: ReturnType<typeof tempHome>;
  let dir: string;
  let env: Record<string, string>;
  const paths: string[] = [];
  const upstream: Server = createServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => upstream.close(resolve));
  });
  beforeEach(() => {
    home = tempHome();
    dir = join(home.dir, 'connectors');
    mkdirSync(dir);
    env = {
      ...home.env,
      CONNECTR_SVC_API_BASE_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    };
  });
  afterEach(() => {
    home.cleanup();
  });

  const signIn = async (account: string): Promise<void> => {
    const r = await runCli(
      ['auth', 'svc', '--account', account, '--with-token', '--no-verify', '--insecure-storage'],
      env,
      { stdin: 'svc-key\n' },
    );
    expect(r.code, r.stderr).toBe(0);
  };
  const accounts = (): { account: string; connector_version?: number }[] =>
    (
      JSON.parse(readFileSync(join(home.dir, 'accounts.json'), 'utf8')) as {
        accounts: { account: string; connector_version?: number }[];
      }
    ).accounts;

  it("uses the account's version while it is loaded, and says once when it no longer is", async () => {
    writeFileSync(join(dir, 'svc.yaml'), svc(1));
    await signIn('work');
    expect(accounts().find((a) => a.account === 'work')?.connector_version).toBe(1);

    // Version 2 arrives: the account keeps version 1's path; a new account gets version 2's.
    writeFileSync(join(dir, 'svc@1.yaml'), svc(1));
    writeFileSync(join(dir, 'svc.yaml'), svc(2));
    let r = await runCli(['call', 'svc', 'me', '--account', 'work'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(paths.at(-1)).toMatch(/^\/v1\/me/);
    await signIn('fresh');
    r = await runCli(['call', 'svc', 'me', '--account=fresh'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(paths.at(-1)).toMatch(/^\/v2\/me/);

    // Version 1 is gone: the newest is used, and the user is told once why and how to mend it.
    rmSync(join(dir, 'svc@1.yaml'));
    r = await runCli(['call', 'svc', 'me', '--account', 'work'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(paths.at(-1)).toMatch(/^\/v2\/me/);
    expect(r.stderr).toBe(
      'warning: svc account "work" was made with version 1, which is no longer loaded; using version 2\n' +
        'hint: sign in again to move it to version 2 (`connectr auth svc --account work`), or restore svc@1.yaml; `connectr connectors diff` shows what changed\n',
    );
  });

  it('an account older than versions (no connector_version) uses the newest, silently', async () => {
    writeFileSync(join(dir, 'svc.yaml'), svc(1));
    await signIn('default');
    const file = join(home.dir, 'accounts.json');
    const data = JSON.parse(readFileSync(file, 'utf8')) as { accounts: Record<string, unknown>[] };
    for (const record of data.accounts) delete record.connector_version;
    writeFileSync(file, JSON.stringify(data));
    writeFileSync(join(dir, 'svc@1.yaml'), svc(1));
    writeFileSync(join(dir, 'svc.yaml'), svc(2));
    const r = await runCli(['call', 'svc', 'me'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(paths.at(-1)).toMatch(/^\/v2\/me/);
  });
});
