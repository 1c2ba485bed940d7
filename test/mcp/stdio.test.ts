import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveLogin } from '../../src/core/auth/save-login.js';
import { systemClock } from '../../src/core/clock.js';
import { loadRegistry } from '../../src/core/connector/registry.js';
import { MetadataStore } from '../../src/core/credentials/metadata.js';
import { Vault } from '../../src/core/credentials/vault.js';
import { resolvePaths } from '../../src/core/paths.js';
import { coreSettings } from '../../src/core/settings/core.js';
import { startGmailEmulator } from '../fixtures/emulators/gmail.js';
import type { GmailEmulator } from '../fixtures/emulators/gmail.js';
import { bearerOf } from '../fixtures/emulators/server.js';
import { BIN, runBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { protocolError, recordingCall, structured, textOf } from './helpers.js';
import { fixtureYaml, startUpstreams } from './upstreams.js';
import type { Upstreams } from './upstreams.js';

/**
 * The real binary, `connectr mcp`, as a desktop agent starts it: through the SDK's
 * StdioClientTransport (and once by hand, to read every byte of its standard output), in a
 * temporary home, with tokens in CONNECTR_<NAME>_TOKEN or accounts in the encrypted file
 * store, and the connectors' base URLs pointed at the emulators.
 */

const TOKEN = 'mcp-stdio-secret-token-2b8e51';
const WORK = 'mcp-stdio-work-token-90ad3f';
const DEFAULT = 'mcp-stdio-default-token-5c1e77';
const PASSPHRASE = 'mcp-stdio-passphrase';

let up: Upstreams;
/** A Gmail mailbox that takes the two stored accounts' tokens. */
let stored: GmailEmulator;
const home = tempHome();
const vaultHome = tempHome();
/** A home with no account and no token. */
const emptyHome = tempHome();
/** Tokens in the environment, every connector at its emulator, the fixture connector loaded. */
let env: Record<string, string>;
/** A home whose Gmail accounts (default and work) are in the encrypted file store. */
let vaultEnv: Record<string, string>;

beforeAll(async () => {
  up = await startUpstreams(TOKEN);
  const connectorsDir = join(home.dir, 'extra-connectors');
  mkdirSync(connectorsDir);
  writeFileSync(join(connectorsDir, 'fixture.yaml'), fixtureYaml(up.fixture.url));
  env = {
    ...home.env,
    ...up.env,
    CONNECTR_CONNECTORS_DIR: connectorsDir,
    CONNECTR_GMAIL_TOKEN: TOKEN,
    CONNECTR_DROPBOX_TOKEN: TOKEN,
    CONNECTR_FIXTURE_TOKEN: TOKEN,
  };

  stored = await startGmailEmulator({ acceptToken: (t) => t === WORK || t === DEFAULT });
  vaultEnv = {
    ...vaultHome.env,
    CONNECTR_STORE: 'file',
    CONNECTR_VAULT_PASSPHRASE: PASSPHRASE,
    CONNECTR_GMAIL_API_BASE_URL: stored.url,
  };
  const paths = resolvePaths(vaultEnv);
  const settings = coreSettings(vaultEnv);
  const deps = {
    env: vaultEnv,
    settings,
    paths,
    clock: systemClock,
    http: { env: vaultEnv },
    vault: new Vault({ settings, paths, passphrase: () => Promise.resolve(PASSPHRASE) }),
    metadata: new MetadataStore(paths),
    notify: () => undefined,
  };
  const gmail = (await loadRegistry()).require('gmail');
  for (const [account, token] of [
    ['default', DEFAULT],
    ['work', WORK],
  ] as const) {
    await saveLogin(
      gmail,
      account,
      'authorization_code',
      { access_token: token, token_type: 'Bearer', expires_in: 3600, refresh_token: `${token}-refresh` },
      { clientId: 'mcp-test-client' },
      { scopes: [], insecureStorage: false },
      deps,
    );
  }
}, 60_000);

afterAll(async () => {
  await up.close();
  await stored.close();
  home.cleanup();
  vaultHome.cleanup();
  emptyHome.cleanup();
});

interface Session {
  readonly client: Client;
  /** What the server wrote on stderr so far. */
  stderr(): string;
  /** Every result and error message the client got. */
  readonly seen: string[];
  call(name: string, args?: Record<string, unknown>, signal?: AbortSignal): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** `connectr mcp ARGS` through the SDK's stdio client transport. */
async function start(args: readonly string[], processEnv: Record<string, string>): Promise<Session> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', ...args],
    env: processEnv,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'connectr-stdio-test', version: '1.0.0' });
  const errors: Error[] = [];
  client.onerror = (error) => errors.push(error);
  await client.connect(transport);
  const seen: string[] = [];
  return {
    client,
    seen,
    stderr: () => stderr,
    call: recordingCall(client, seen),
    async close() {
      await client.close();
      // Whatever came on stdout was protocol: the client's reader never failed on a line.
      expect(errors.map((e) => e.message)).toEqual([]);
      for (const text of [...seen, stderr]) {
        for (const secret of [TOKEN, WORK, DEFAULT, PASSPHRASE]) expect(text).not.toContain(secret);
      }
    },
  };
}

describe('connectr mcp on stdio', () => {
  it('lists the tools of the connectors with a token, and calls one', async () => {
    const session = await start([], env);
    try {
      const { tools } = await session.client.listTools();
      const connectors = new Set(tools.map((t) => t.name.split('_')[0]));
      // Every connector with a token in the environment, and no other.
      expect([...connectors].sort()).toEqual(['dropbox', 'fixture', 'gmail']);
      expect(tools.find((t) => t.name === 'gmail_list_messages')?.inputSchema).toMatchObject({
        properties: { maxResults: { type: 'integer', minimum: 1, maximum: 500 }, cursor: { type: 'string' } },
        additionalProperties: false,
      });

      const before = up.gmail.requests.length;
      const profile = await session.call('gmail_get_profile');
      expect(profile.isError).toBeFalsy();
      expect(structured(profile)).toMatchObject({ emailAddress: 'ann@example.com' });
      expect(up.gmail.requests.slice(before).map(bearerOf)).toEqual([TOKEN]);

      const missing = await session.call('gmail_get_message', { id: 'nope' });
      expect(missing.isError).toBe(true);
      expect(textOf(missing)).toContain('Gmail answered 404');

      const unknown = await protocolError(session.call('gmail_get_profil'));
      expect(unknown.code).toBe(-32602);

      expect(session.stderr()).toContain('connectr mcp: ');
      expect(session.stderr()).toMatch(/tools of dropbox, fixture, gmail on stdio/);
    } finally {
      await session.close();
    }
  });

  it('--connector, --read-only, --allow and --deny choose the tools', async () => {
    const session = await start(
      ['--connector', 'gmail', '--connector', 'dropbox', '--read-only', '--deny', '*_attachment'],
      env,
    );
    try {
      const names = (await session.client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('gmail_get_profile');
      expect(names).not.toContain('gmail_get_attachment');
      expect(names).not.toContain('gmail_send_message');
      expect(names.some((n) => n.startsWith('fixture_'))).toBe(false);
      // Dropbox's API is all POST: nothing of it is read-only.
      expect(names.some((n) => n.startsWith('dropbox_'))).toBe(false);
      expect(session.stderr()).toContain('(read-only)');
    } finally {
      await session.close();
    }
  });

  it('a connector named but not signed in: an error result that says how to sign in, nothing sent', async () => {
    const session = await start(['--connector', 'slack'], env);
    try {
      const before = up.slack.requests.length;
      const result = await session.call('slack_auth_test');
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('connectr auth slack');
      expect(up.slack.requests.length).toBe(before);
    } finally {
      await session.close();
    }
  });

  it('accounts in the encrypted file store: the default, or the one --account names', async () => {
    const byDefault = await start([], vaultEnv);
    try {
      const before = stored.requests.length;
      expect((await byDefault.call('gmail_get_profile')).isError).toBeFalsy();
      expect(stored.requests.slice(before).map(bearerOf)).toEqual([DEFAULT]);
    } finally {
      await byDefault.close();
    }
    const work = await start(['--account', 'gmail=work'], vaultEnv);
    try {
      const before = stored.requests.length;
      expect((await work.call('gmail_get_profile')).isError).toBeFalsy();
      expect(stored.requests.slice(before).map(bearerOf)).toEqual([WORK]);
    } finally {
      await work.close();
    }
  });

  it('never prompts: without the passphrase a call is an error result naming CONNECTR_VAULT_PASSPHRASE', async () => {
    const { CONNECTR_VAULT_PASSPHRASE: _unused, ...noPassphrase } = vaultEnv;
    const session = await start(['--connector', 'gmail'], noPassphrase);
    try {
      const before = stored.requests.length;
      const result = await session.call('gmail_get_profile');
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('CONNECTR_VAULT_PASSPHRASE');
      expect(stored.requests.length).toBe(before);
    } finally {
      await session.close();
    }
  });

  it('a cancelled call aborts the upstream request; the server answers the next one', async () => {
    const session = await start(['--connector', 'fixture'], env);
    try {
      const controller = new AbortController();
      const outcome = session.call('fixture_stall', {}, controller.signal).then(
        () => 'answered',
        (error: unknown) => String(error),
      );
      await until(() => up.stalls.length === 1);
      controller.abort(new Error('stop that'));
      expect(await outcome).toContain('stop that');
      await until(() => up.stallsClosed.length === 1);
      expect(textOf(await session.call('fixture_note'))).toBe('a note in plain words\n');
    } finally {
      await session.close();
    }
  });
});

describe('connectr mcp refuses to start, with a message on stderr and nothing on stdout', () => {
  const cases: [string, readonly string[], () => Record<string, string>, number, RegExp][] = [
    [
      'an unknown connector',
      ['--connector', 'nope'],
      () => env,
      1,
      /unknown connector "nope"\nhint: available: .*gmail/,
    ],
    [
      'no connector signed in',
      [],
      () => emptyHome.env,
      3,
      /no connector is signed in, so there would be no tools\nhint: sign in first \(connectr auth gmail\)/,
    ],
    [
      '--account without =',
      ['--account', 'gmail'],
      () => env,
      2,
      /--account "gmail" is not <connector>=<account>/,
    ],
    [
      '--account with no account',
      ['--account', 'gmail='],
      () => env,
      2,
      /--account "gmail=" is not <connector>=<account>/,
    ],
    [
      '--account of a connector not served',
      ['--connector', 'gmail', '--account', 'slack=work'],
      () => env,
      2,
      /--account slack=work: slack is not one of the connectors served\nhint: served: gmail/,
    ],
    [
      '--account naming an account that does not exist (not every call failing later)',
      ['--account', 'gmail=nobody'],
      () => vaultEnv,
      1,
      /error: --account gmail=nobody: no gmail account named "nobody"\nhint: known: default, work\. Or sign in with `connectr auth gmail --account nobody`/,
    ],
    [
      '--account with a token in the environment but no such stored account',
      ['--account', 'gmail=work'],
      () => env,
      1,
      /error: --account gmail=work: no gmail account named "work"\nhint: .*connectr auth gmail --account work/,
    ],
    ['a bad glob', ['--allow', 'gmail_*;x'], () => env, 2, /--allow "gmail_\*;x" is not a tool-name glob/],
    [
      'more globs than allowed (64)',
      Array.from({ length: 65 }, () => ['--deny', '*?*?*?*?*?*?*?*?Z']).flat(),
      () => env,
      2,
      /--deny gives more than the at most 64 globs allowed/,
    ],
    [
      'a glob longer than allowed (200 characters)',
      ['--allow', `${'*?'.repeat(100)}Z`],
      () => env,
      2,
      /--allow "\*\?.*…" is not a tool-name glob: it has 201 characters, at most 200 characters are allowed/,
    ],
    [
      'the issue’s glob (*? eight times, then Z), answered at once: it leaves no tool',
      ['--allow', '*?*?*?*?*?*?*?*?Z'],
      () => env,
      2,
      /no tool is left after --read-only, --allow and --deny/,
    ],
    [
      'every tool filtered out',
      ['--allow', 'nothing_*'],
      () => env,
      2,
      /no tool is left after --read-only, --allow and --deny/,
    ],
  ];
  for (const [what, args, envOf, code, message] of cases) {
    it(what, async () => {
      const r = await runBin(['mcp', ...args], envOf());
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }
});

describe('standard output is the protocol and nothing else', () => {
  it('every line written is a JSON-RPC message; closing stdin ends the server with 0', async () => {
    const child = spawn(process.execPath, [BIN, 'mcp'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const send = (message: unknown): void => {
      child.stdin.write(`${JSON.stringify(message)}\n`);
    };
    const answered = (id: number): Promise<void> =>
      until(() => stdout.includes(`"id":${String(id)}`), 15_000);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    await answered(1);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    send({
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'gmail_get_profile', arguments: {} },
    });
    send({
      jsonrpc: '2.0',
      id: 4,
      method: 'tools/call',
      params: { name: 'gmail_list_messages', arguments: { maxResults: 'x' } },
    });
    send({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'nope', arguments: {} } });
    send({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'fixture_note' } });
    await answered(6);
    await Promise.all([2, 3, 4, 5].map(answered));
    child.stdin.end();
    const code = await exited;
    clearTimeout(timer);
    expect(code, stderr).toBe(0);

    const lines = stdout.split('\n');
    expect(lines.at(-1)).toBe('');
    const messages = lines.slice(0, -1).map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const message of messages) expect(message.jsonrpc).toBe('2.0');
    const byId = new Map(messages.map((m) => [m.id, m]));
    expect([...byId.keys()].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(byId.get(3)).toMatchObject({ result: { structuredContent: { emailAddress: 'ann@example.com' } } });
    expect(byId.get(4)).toMatchObject({ result: { isError: true } });
    expect(byId.get(5)).toMatchObject({ error: { code: -32602 } });
    expect(byId.get(6)).toMatchObject({
      result: { content: [{ type: 'text', text: 'a note in plain words\n' }] },
    });
    // Messages for people go to stderr.
    expect(stderr).toMatch(/^connectr mcp: \d+ tools of dropbox, fixture, gmail on stdio\n$/);
    expect(stdout + stderr).not.toContain(TOKEN);
  });
});

describe('end of input: the calls already received are answered, then the server exits', () => {
  const initialize = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'printf', version: '1' } },
  };
  const call = (id: number, name: string): unknown => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name, arguments: {} },
  });
  /** `printf '...' | connectr mcp`: every request in one write, then end of input at once. */
  async function piped(
    messages: readonly unknown[],
    extraEnv: Record<string, string> = {},
  ): Promise<{
    code: number | null;
    byId: Map<unknown, Record<string, unknown>>;
    stderr: string;
    ms: number;
  }> {
    const started = Date.now();
    const r = await runBin(
      ['mcp'],
      { ...env, ...extraEnv },
      {
        input: messages.map((m) => `${JSON.stringify(m)}\n`).join(''),
      },
    );
    const lines = r.stdout.split('\n').filter(Boolean);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    return {
      code: r.code,
      byId: new Map(parsed.map((m) => [m.id, m])),
      stderr: r.stderr,
      ms: Date.now() - started,
    };
  }

  it('initialize and a tools/call piped with end of input: both answered on stdout, exit 0', async () => {
    const r = await piped([initialize, call(2, 'gmail_get_profile')]);
    expect(r.code, r.stderr).toBe(0);
    expect([...r.byId.keys()]).toEqual([1, 2]);
    expect(r.byId.get(1)).toMatchObject({ result: { serverInfo: { name: 'connectr' } } });
    expect(r.byId.get(2)).toMatchObject({
      result: { structuredContent: { emailAddress: 'ann@example.com' } },
    });
  });

  it('a slow call (a second upstream) is waited for, and so is every other call in flight', async () => {
    up.delayNotes(1000);
    try {
      const r = await piped([
        initialize,
        call(2, 'fixture_note'),
        call(3, 'gmail_get_profile'),
        call(4, 'nope'),
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect([...r.byId.keys()].sort()).toEqual([1, 2, 3, 4]);
      expect(r.byId.get(2)).toMatchObject({
        result: { content: [{ type: 'text', text: 'a note in plain words\n' }] },
      });
      expect(r.byId.get(3)).toMatchObject({
        result: { structuredContent: { emailAddress: 'ann@example.com' } },
      });
      expect(r.byId.get(4)).toMatchObject({ error: { code: -32602 } });
    } finally {
      up.delayNotes(0);
    }
  });

  it('bounded: a call still running when the wait is over is answered with an error and its request stopped', async () => {
    const before = up.stallsClosed.length;
    const r = await piped([initialize, call(2, 'fixture_stall')], { CONNECTR_MCP_DRAIN_MS: '500' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.byId.get(2)).toMatchObject({
      error: {
        code: -32001,
        message: expect.stringContaining('still running 0.5 s after the end of input') as string,
      },
    });
    await until(() => up.stallsClosed.length === before + 1);
  });

  for (const inputEnded of [false, true]) {
    it(`SIGTERM still cancels at once${inputEnded ? ', also while waiting after the end of input' : ''}: the call in flight is answered with an error and its request stopped`, async () => {
      const child = spawn(process.execPath, [BIN, 'mcp'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const stallsBefore = up.stalls.length;
      const closedBefore = up.stallsClosed.length;
      child.stdin.write(`${JSON.stringify(initialize)}\n${JSON.stringify(call(2, 'fixture_stall'))}\n`);
      if (inputEnded) child.stdin.end();
      await until(() => up.stalls.length === stallsBefore + 1);
      const signalled = Date.now();
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
      expect(Date.now() - signalled).toBeLessThan(5_000);
      const answers = stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(answers.filter((m) => m.id === 2)).toEqual([
        expect.objectContaining({
          error: { code: -32000, message: 'connectr mcp was stopped by SIGTERM: the call was cancelled' },
        }),
      ]);
      await until(() => up.stallsClosed.length === closedBefore + 1);
    });
  }
});

async function until(done: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
