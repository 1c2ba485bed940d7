import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { serverLogStream } from '../../src/cli/commands/serve/log-stream.js';
import { BIN, runBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { seedPglite } from '../helpers/server-store.js';

/**
 * `connectr serve`'s log: readable lines when stderr is a terminal (a real pseudo-terminal from
 * util-linux `script`), JSON lines otherwise or with --log-format json; never a secret either way.
 */

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function env(): Record<string, string> {
  const h = tempHome();
  cleanups.push(h.cleanup);
  seedPglite(h.dir);
  return { ...h.env, CONNECTR_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'), TERM: 'xterm' };
}

/** `connectr serve` on a terminal: returns what the terminal showed once Ctrl-C stopped it. */
async function onTerminal(args: string[], environment: Record<string, string>): Promise<string> {
  // exec: the shell `script` starts must not stay between the terminal and connectr (it would
  // take the Ctrl-C too, and exit 130 whatever connectr did).
  const command = `exec ${[process.execPath, BIN, 'serve', '--port', '0', ...args].map((a) => `"${a}"`).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: environment,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  cleanups.push(() => child.kill('SIGKILL'));
  let screen = '';
  child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  await expect
    .poll(() => /listening on (http:\/\/\S+)/.test(screen), { timeout: 90_000, interval: 200 })
    .toBe(true);
  const url = /listening on (http:\/\/\S+)/.exec(screen)?.[1] ?? '';
  expect((await fetch(`${url}/health?token=hunter2-secret`)).status).toBe(200);
  expect(
    (await fetch(`${url}/api/v1/connectors`, { headers: { authorization: 'Bearer not-a-key' } })).status,
  ).toBe(401);
  await expect.poll(() => (screen.match(/request completed/g) ?? []).length, { timeout: 10_000 }).toBe(2);
  // Ctrl-C, typed at the terminal.
  child.stdin.write('\x03');
  expect(await exit).toBe(0);
  return screen;
}

describe('connectr serve --log-format', () => {
  it('on a terminal: readable, coloured lines, one per request, secrets redacted', async () => {
    const screen = await onTerminal([], env());
    const lines = screen.split(/\r?\n/);
    const health = lines.find((line) => line.includes('/health'));
    expect(health).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] .*INFO.*: .*\[[0-9a-f-]{36}\] request completed GET \/health\?token=\[REDACTED\] 200 \(\d+(\.\d)? ms\)/,
    );
    expect(health).toContain('\x1b[32mINFO');
    expect(screen).not.toContain('"msg"');
    expect(screen).not.toContain('hunter2');
    expect(screen).not.toContain('not-a-key');
    expect(screen).toContain('connectr serve: stopped');
  }, 150_000);

  it('--log-format json on a terminal, and auto on a pipe, keep JSON lines', async () => {
    const screen = await onTerminal(['--log-format', 'json'], env());
    expect(screen).toMatch(/\{"level":30,.*"msg":"request completed"/);
    expect(screen).not.toContain('hunter2');
    // The default on a pipe is JSON (test/server/serve-cli.test.ts checks those lines);
    // an unknown format is a usage error.
    const bad = await runBin(['serve', '--log-format', 'xml'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--log-format');
  }, 150_000);

  it('readable lines escape what a request or an upstream put in the record: no forged line, no escape sequence', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const log = await serverLogStream(out, { format: 'pretty', color: false });
    const record = {
      level: 50,
      time: Date.now(),
      reqId: 'r1',
      msg: 'upstream said \u001b[2J\nconnectr serve: stopped',
      err: { message: 'bad\r\nerror: forged', stack: 'Error: bad\n    at x (y.js:1:1)' },
    };
    log.stream.write(`${JSON.stringify(record)}\n`);
    log.flush();
    expect(text).not.toContain('\u001b');
    expect(text).not.toMatch(/^connectr serve: stopped/m);
    expect(text).not.toMatch(/^error: forged/m);
    expect(text).toContain('\\x1b[2J\\nconnectr serve: stopped');
    // A stack keeps its lines.
    expect(text).toMatch(/\n\s+at x \(y\.js:1:1\)/);
  });
});
