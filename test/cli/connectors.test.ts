import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUILTIN_CONNECTORS_DIR } from '../../src/core/connector/registry.js';
import { runCli } from '../helpers/io.js';
import { tempHome } from '../helpers/home.js';

const invalidDir = join(import.meta.dirname, '../fixtures/connectors/invalid');
/** The built-in connectors' names, sorted: one per YAML file in connectors/. */
const BUILTIN = readdirSync(BUILTIN_CONNECTORS_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.slice(0, -'.yaml'.length))
  .sort();

describe('connectr connectors', () => {
  let home: ReturnType<typeof tempHome>;
  beforeEach(() => {
    home = tempHome();
  });
  afterEach(() => {
    home.cleanup();
  });

  describe('list', () => {
    it('prints a table on a terminal', async () => {
      const r = await runCli(['connectors', 'list'], home.env, { tty: true, columns: 120 });
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^NAME\s+AUTH\s+ENDPOINTS\s+SOURCE\s+DESCRIPTION$/);
      expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(BUILTIN);
      expect(BUILTIN).toEqual(
        expect.arrayContaining(['dropbox', 'gcal', 'gdrive', 'github', 'gmail', 'onedrive', 'outlook']),
      );
      expect(r.stdout).toMatch(/gmail\s+oauth2\s+14\s+built-in\s+Read, search/);
    });

    it('prints JSON when piped', async () => {
      const r = await runCli(['connectors', 'list'], home.env);
      expect(r.code).toBe(0);
      const list = JSON.parse(r.stdout) as { name: string; auth: string; endpoints: number }[];
      expect(list.map((c) => c.name)).toEqual(BUILTIN);
      expect(list.find((c) => c.name === 'gmail')).toMatchObject({
        name: 'gmail',
        auth: 'oauth2',
        endpoints: 14,
      });
      expect(list.find((c) => c.name === 'github')).toMatchObject({ auth: 'oauth2', endpoints: 18 });
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
    });

    it('prints indented JSON on a terminal with --json', async () => {
      const r = await runCli(['--json', 'connectors', 'list'], home.env, { tty: true });
      expect(r.stdout).toMatch(/^\[\n {2}\{/);
      expect(JSON.parse(r.stdout)).toHaveLength(BUILTIN.length);
    });

    it('shows a user override and warns about a broken file, listing the rest', async () => {
      const dir = join(home.dir, 'connectors');
      mkdirSync(dir);
      writeFileSync(join(dir, 'gmail.yaml'), readFileSync(join(BUILTIN_CONNECTORS_DIR, 'gmail.yaml')));
      writeFileSync(join(dir, 'broken.yaml'), 'name: broken\nhosts: [\n');
      const r = await runCli(['connectors', 'list'], home.env, { tty: true, columns: 120 });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/gmail\s+oauth2\s+14\s+user \(override\)/);
      expect(r.stderr).toContain(
        `warning: skipped invalid connector file ${join(dir, 'broken.yaml')}:3:1: invalid YAML`,
      );
      expect(r.stderr).toContain('connectr connectors validate');
    });

    it('loads --connectors-dir and CONNECTR_CONNECTORS_DIR', async () => {
      const extra = join(home.dir, 'extra');
      mkdirSync(extra);
      writeFileSync(
        join(extra, 'status.yaml'),
        'name: status\ndisplay_name: Status\nversion: 1\ndocs_url: https://example.com\ndescription: Status page.\nhosts:\n  api: https://status.example.com\nauth:\n  type: none\nendpoints:\n  summary:\n    summary: Overall status.\n    method: GET\n    path: /api/v2/summary.json\n',
      );
      const viaFlag = await runCli(['connectors', 'list', '--connectors-dir', extra], home.env);
      expect((JSON.parse(viaFlag.stdout) as { name: string }[]).map((c) => c.name)).toContain('status');
      const viaEnv = await runCli(['connectors', 'list'], { ...home.env, CONNECTR_CONNECTORS_DIR: extra });
      expect((JSON.parse(viaEnv.stdout) as { name: string }[]).map((c) => c.name)).toContain('status');
    });

    it('fails clearly when --connectors-dir does not exist', async () => {
      const r = await runCli(['connectors', 'list', '--connectors-dir', join(home.dir, 'missing')], home.env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: cannot read connectors directory .*missing/m);
      expect(r.stderr).toMatch(/^hint: pass an existing directory to --connectors-dir$/m);
    });
  });

  describe('show', () => {
    it('describes hosts, auth, endpoints and params on a terminal', async () => {
      const r = await runCli(['connectors', 'show', 'dropbox'], home.env, { tty: true, columns: 120 });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Dropbox (dropbox), definition version 1');
      expect(r.stdout).toContain(
        'Docs:    https://www.dropbox.com/developers/documentation/http/documentation',
      );
      expect(r.stdout).toMatch(
        /content\s+https:\/\/content\.dropboxapi\.com\s+override with CONNECTR_DROPBOX_CONTENT_BASE_URL/,
      );
      expect(r.stdout).toContain('redirect URI       http://localhost:53682/callback');
      expect(r.stdout).toContain('client id          $DROPBOX_CLIENT_ID');
      expect(r.stdout).toContain('list_folder  POST api /2/files/list_folder');
      expect(r.stdout).toMatch(
        /--page-size <integer>\s+Approximate number of entries per page\. Range 1\.\.2000\. \[body limit\]/,
      );
      expect(r.stdout).toMatch(
        /--path <string>\s+Required\. Path to save the file at.*\[Dropbox-API-Arg path\]/,
      );
    });

    it('shows the effective base URL when its environment variable is set', async () => {
      const r = await runCli(
        ['connectors', 'show', 'gmail'],
        { ...home.env, CONNECTR_GMAIL_API_BASE_URL: 'http://127.0.0.1:9999' },
        { tty: true },
      );
      expect(r.stdout).toContain('-> http://127.0.0.1:9999 (from CONNECTR_GMAIL_API_BASE_URL)');
    });

    it("keeps its own colours on a colour terminal and escapes only the definition's text (issue #20)", async () => {
      const dir = join(home.dir, 'connectors');
      mkdirSync(dir);
      writeFileSync(
        join(dir, 'tinted.yaml'),
        `name: tinted
display_name: Tinted
version: 1
docs_url: https://example.com/docs
description: "A definition whose text carries \\e]0;title\\a escape codes."
hosts:
  api: https://api.example.com
auth:
  type: none
endpoints:
  list:
    summary: "Lists \\e[8mhidden\\e[28m things."
    method: GET
    path: /items
`,
      );
      const r = await runCli(['connectors', 'show', 'tinted'], home.env, { tty: true, color: true });
      expect(r.code, r.stderr).toBe(0);
      // connectr's own styling, as the styler wrote it
      expect(r.stdout).toContain('\u001b[1mTinted\u001b[22m (tinted)');
      expect(r.stdout).toContain('  \u001b[1mlist\u001b[22m  \u001b[36mGET\u001b[39m api /items');
      expect(r.stdout).toContain('\u001b[1mEndpoints (1)\u001b[22m');
      expect(r.stdout).not.toContain('\\x1b[36m');
      // the definition's text, escaped
      expect(r.stdout).toContain('carries \\x1b]0;title\\x07 escape codes.');
      expect(r.stdout).toContain('Lists \\x1b[8mhidden\\x1b[28m things.');
      const builtin = await runCli(['connectors', 'show', 'gmail'], home.env, { tty: true, color: true });
      expect(builtin.stdout).not.toContain('\\x1b');
    });

    it('shows one endpoint', async () => {
      const r = await runCli(['connectors', 'show', 'gmail', 'list_messages'], home.env, { tty: true });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('list_messages  GET api /gmail/v1/users/{userId}/messages');
      expect(r.stdout).toMatch(/--label-ids <string\.\.\.>\s+Only items carrying all of these label ids/);
      expect(r.stdout).not.toMatch(/^ +get_message /m);
    });

    it('prints the whole definition as JSON', async () => {
      const r = await runCli(['connectors', 'show', 'onedrive'], home.env);
      const shown = JSON.parse(r.stdout) as {
        name: string;
        hosts: { key: string; effective_url: string }[];
        auth: { type: string; scopes: string[] };
        endpoints: { name: string }[];
      };
      expect(shown.name).toBe('onedrive');
      expect(shown.hosts[0]).toMatchObject({
        key: 'graph',
        effective_url: 'https://graph.microsoft.com/v1.0',
      });
      expect(shown.auth.scopes).toContain('offline_access');
      expect(shown.endpoints.map((e) => e.name)).toContain('list_children_by_path');
    });

    it('suggests the nearest connector and endpoint names', async () => {
      const r1 = await runCli(['connectors', 'show', 'dropbx'], home.env);
      expect(r1.code).toBe(1);
      expect(r1.stderr).toBe(
        'error: unknown connector "dropbx"\nhint: did you mean "dropbox"? Run `connectr connectors list` to see all.\n',
      );
      const far = await runCli(['connectors', 'show', 'zz'], home.env);
      expect(far.stderr).toContain('error: unknown connector "zz"\nhint: available: ');
      expect(far.stderr).not.toContain('did you mean');
      const farEndpoint = await runCli(['connectors', 'show', 'gmail', 'q'], home.env);
      expect(farEndpoint.stderr).toMatch(
        /^error: gmail has no endpoint "q"\nhint: known: get_profile, .*list_messages/,
      );
      const r2 = await runCli(['connectors', 'show', 'gmail', 'list_mesages'], home.env);
      expect(r2.code).toBe(1);
      expect(r2.stderr).toContain(
        'error: gmail has no endpoint "list_mesages"\nhint: did you mean "list_messages"? Run `connectr connectors show gmail` to list its endpoints.\n',
      );
    });
  });

  describe('validate', () => {
    it('passes the built-in connectors', async () => {
      const r = await runCli(['connectors', 'validate'], home.env, { tty: true });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/✓ .*dropbox\.yaml {2}dropbox, 18 endpoints/);
      expect(r.stdout).toContain(`${BUILTIN.length} file(s) checked, 0 invalid`);
    });

    it('reports every problem with file:line:column and exits 1', async () => {
      const file = join(invalidDir, '06-bad-method.yaml');
      const r = await runCli(['connectors', 'validate', file], home.env, { tty: true });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`✗ ${file}`);
      expect(r.stdout).toContain(
        `${file}:14:13: endpoints.get_thing.method: expected one of GET, POST, PUT, PATCH, DELETE, HEAD, found "FETCH"`,
      );
      expect(r.stderr).toContain('error: 1 of 1 connector file(s) invalid (1 problem(s))');
    });

    it('validates a whole directory and reports as JSON', async () => {
      const r = await runCli(['connectors', 'validate', invalidDir], home.env);
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout) as {
        valid: boolean;
        files: { valid: boolean; problems: unknown[] }[];
      };
      expect(report.valid).toBe(false);
      expect(report.files.length).toBeGreaterThanOrEqual(20);
      expect(report.files.every((f) => !f.valid && f.problems.length > 0)).toBe(true);
    });

    it('names a missing path', async () => {
      const r = await runCli(['connectors', 'validate', 'nope.yaml'], home.env);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('error: no such file or directory: nope.yaml');
    });
  });

  describe('schema', () => {
    it('prints the JSON Schema shipped as connectors/connector.schema.json', async () => {
      const r = await runCli(['connectors', 'schema'], home.env);
      expect(r.code).toBe(0);
      const shipped = readFileSync(join(BUILTIN_CONNECTORS_DIR, 'connector.schema.json'), 'utf8');
      expect(r.stdout, 'regenerate with: npm run schema').toBe(shipped);
      const schema = JSON.parse(r.stdout) as { properties: Record<string, unknown>; required: string[] };
      expect(Object.keys(schema.properties)).toEqual(
        expect.arrayContaining(['name', 'hosts', 'auth', 'endpoints']),
      );
      expect(schema.required).toEqual(expect.arrayContaining(['name', 'hosts', 'auth', 'endpoints']));
    });
  });

  describe('usage', () => {
    it('prints the version', async () => {
      const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as {
        version: string;
      };
      const r = await runCli(['--version'], home.env);
      expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    });

    it('exits 2 with a suggestion for an unknown command or flag', async () => {
      const r1 = await runCli(['conectors', 'list'], home.env);
      expect(r1.code).toBe(2);
      expect(r1.stderr).toContain("error: unknown command 'conectors'");
      expect(r1.stderr).toContain('(Did you mean connectors?)');
      const r2 = await runCli(['connectors', 'list', '--jsno'], home.env);
      expect(r2.code).toBe(2);
      expect(r2.stderr).toContain("error: unknown option '--jsno'");
      expect(r2.stderr).toContain('(Did you mean --json?)');
    });

    it('exits 2 when a required argument is missing', async () => {
      const r = await runCli(['connectors', 'show'], home.env);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("error: missing required argument 'connector'");
      expect(r.stderr).toContain('(run `connectr connectors show --help` for usage)');
    });

    it('has help on every command', async () => {
      for (const args of [
        [],
        ['connectors'],
        ['connectors', 'list'],
        ['connectors', 'show'],
        ['connectors', 'validate'],
        ['connectors', 'schema'],
      ]) {
        const r = await runCli([...args, '--help'], home.env);
        expect(r.code, args.join(' ')).toBe(0);
        expect(r.stdout, args.join(' ')).toMatch(/^Usage: connectr/);
      }
    });
  });
});
