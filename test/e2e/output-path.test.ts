import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/bin.js';
import type { ProcessResult } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { sendJson, startEmulator } from '../fixtures/emulators/server.js';
import type { Emulator } from '../fixtures/emulators/server.js';

/**
 * `call -o PATH` writes into what PATH names and never replaces it: a FIFO or a device is written
 * through, a symlink stays a symlink, `-` is stdout. Only a regular file or a new path gets an
 * exclusive temporary file renamed into place, removed again on failure and on every signal.
 * Everything happens inside the test's temporary directory (also the processes' working
 * directory): nothing here may touch /dev/null or any file outside it.
 */
describe('call -o PATH', () => {
  const home = tempHome();
  const work = join(home.dir, 'work');
  let api: Emulator;
  let env: Record<string, string>;
  const children = new Set<ChildProcessWithoutNullStreams>();

  beforeAll(async () => {
    api = await startEmulator(async (req, res) => {
      const q = req.url.searchParams;
      if (req.url.pathname === '/file') {
        // `size` bytes of the byte `fill`, in 64 KiB chunks `pace` ms apart; `fail` breaks off
        // half-way.
        const size = Number(q.get('size') ?? 1000);
        const fill = Number(q.get('fill') ?? 65);
        const pace = Number(q.get('pace') ?? 0);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
        const chunk = 64 * 1024;
        for (let sent = 0; sent < size; sent += chunk) {
          if (q.get('fail') === '1' && sent >= size / 2) {
            res.socket?.destroy();
            return undefined;
          }
          res.write(Buffer.alloc(Math.min(chunk, size - sent), fill));
          if (pace > 0) await new Promise((r) => setTimeout(r, pace));
        }
        res.end();
        return undefined;
      }
      if (req.url.pathname === '/stall') {
        // Some bytes, then nothing until the client goes away.
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100000' });
        res.write(Buffer.alloc(1000, 1));
        return undefined;
      }
      return sendJson(res, 404, { message: 'Not Found' });
    });
    mkdirSync(join(home.dir, 'connectors'), { recursive: true });
    mkdirSync(work);
    writeFileSync(
      join(home.dir, 'connectors', 'store.yaml'),
      `name: store
display_name: Store
version: 1
docs_url: https://example.com/docs
description: Files to download.
hosts:
  api: ${api.url}
auth:
  type: none
endpoints:
  file:
    summary: A file of one repeated byte.
    method: GET
    path: /file
    params:
      size: { in: query, type: integer }
      fill: { in: query, type: integer }
      pace: { in: query, type: integer }
      fail: { in: query, type: integer }
    response: { encoding: binary }
  stall:
    summary: A download that stops half-way and hangs.
    method: GET
    path: /stall
    response: { encoding: binary }
`,
    );
    env = { ...home.env };
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await api.close();
    home.cleanup();
  });

  /** The real binary, run in the temporary directory. */
  function start(args: readonly string[]): {
    child: ChildProcessWithoutNullStreams;
    done: Promise<ProcessResult>;
  } {
    const child = spawn(process.execPath, [BIN, 'call', 'store', ...args], {
      env,
      cwd: work,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.add(child);
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const done = new Promise<ProcessResult>((resolve) => {
      child.on('close', (code) => {
        clearTimeout(timer);
        children.delete(child);
        resolve({ code, stdout, stderr });
      });
    });
    return { child, done };
  }
  const call = (args: readonly string[]): Promise<ProcessResult> => start(args).done;

  const temps = (dir: string): string[] => readdirSync(dir).filter((f) => f.includes('connectr-partial'));

  it('writes through a FIFO and leaves it a FIFO', async () => {
    const fifo = join(work, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    let got = 0;
    reader.stdout.on('data', (d: Buffer) => (got += d.length));
    const readerDone = new Promise<void>((resolve) => reader.on('close', () => resolve()));
    try {
      const r = await call(['file', '--size', '300000', '-o', fifo]);
      expect(r.code, r.stderr).toBe(0);
      expect(lstatSync(fifo).isFIFO()).toBe(true);
      await readerDone;
      expect(got).toBe(300000);
      expect(temps(work)).toEqual([]);
    } finally {
      reader.kill('SIGKILL');
    }
  });

  it.skipIf(process.getuid?.() !== 0)(
    'writes through a character device (a private copy of /dev/null)',
    async () => {
      // A device node inside the temporary directory, so a regression cannot break the real one.
      const device = join(work, 'null');
      execFileSync('mknod', [device, 'c', '1', '3']);
      const r = await call(['file', '--size', '200000', '-o', device]);
      expect(r.code, r.stderr).toBe(0);
      expect(lstatSync(device).isCharacterDevice()).toBe(true);
      expect(temps(work)).toEqual([]);
    },
  );

  it('writes through a symlink to the file it points at and keeps the link', async () => {
    const real = join(work, 'real.bin');
    const link = join(work, 'link.bin');
    writeFileSync(real, 'old');
    chmodSync(real, 0o640);
    symlinkSync('real.bin', link);
    const r = await call(['file', '--size', '1000', '--fill', '66', '-o', link]);
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real)).toEqual(Buffer.alloc(1000, 66));
    // The file replaced keeps its permissions.
    expect(statSync(real).mode & 0o777).toBe(0o640);

    // A link to a file that does not exist yet creates that file.
    const dangling = join(work, 'dangling.bin');
    symlinkSync('made.bin', dangling);
    const d = await call(['file', '--size', '10', '-o', dangling]);
    expect(d.code, d.stderr).toBe(0);
    expect(readlinkSync(dangling)).toBe('made.bin');
    expect(readFileSync(join(work, 'made.bin'))).toEqual(Buffer.alloc(10, 65));
    expect(temps(work)).toEqual([]);
  });

  it('-o - writes the body to stdout and creates no file', async () => {
    const r = await call(['file', '--size', '5', '--fill', '67', '-o', '-']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('CCCCC');
    expect(readdirSync(work).filter((f) => f.startsWith('-') || f.includes('connectr-partial'))).toEqual([]);
  });

  it('two downloads to one path end with the complete body of the one that succeeded', async () => {
    const out = join(work, 'race.bin');
    const size = 2 * 1024 * 1024;
    const common = ['--size', String(size), '--pace', '25', '-o', out, '--retries', '0'];
    const failing = start(['file', '--fill', '70', '--fail', '1', ...common]);
    const ok = start(['file', '--fill', '79', ...common]);
    const [f, o] = await Promise.all([failing.done, ok.done]);
    expect(f.code, f.stderr).toBe(5);
    expect(o.code, o.stderr).toBe(0);
    expect(readFileSync(out).equals(Buffer.alloc(size, 79))).toBe(true);
    expect(temps(work)).toEqual([]);

    // Both succeed: the file is one of the two bodies, whole.
    const [a, b] = await Promise.all([
      start(['file', '--fill', '97', ...common]).done,
      start(['file', '--fill', '98', ...common]).done,
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const body = readFileSync(out);
    expect(body.equals(Buffer.alloc(size, 97)) || body.equals(Buffer.alloc(size, 98))).toBe(true);
    expect(temps(work)).toEqual([]);
  }, 30_000);

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${signal} removes the partial download`, async () => {
      const dir = join(work, signal);
      mkdirSync(dir);
      const out = join(dir, 'stalled.bin');
      const run = start(['stall', '-o', out]);
      // Wait until the temporary file exists, then signal.
      const deadline = Date.now() + 10_000;
      while (temps(dir).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(temps(dir)).toHaveLength(1);
      run.child.kill(signal);
      const r = await run.done;
      expect(r.code, r.stderr).toBe(128 + constants.signals[signal]);
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it('a path whose folder is a file is refused before sending, naming the path and the fix', async () => {
    const file = join(work, 'plain.txt');
    writeFileSync(file, 'x');
    const before = api.requests.length;
    const out = join(file, 'out.bin');
    const r = await call(['file', '-o', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: cannot write ${out}: ${file}, or a folder above it, is not a folder\n` +
        'hint: choose an -o path inside an existing folder\n',
    );
    expect(api.requests.length).toBe(before);
  });

  it.skipIf(process.getuid?.() === 0)(
    'a folder without write permission is refused (not as root)',
    async () => {
      const locked = join(work, 'locked');
      mkdirSync(locked, { mode: 0o555 });
      const out = join(locked, 'out.bin');
      const r = await call(['file', '-o', out]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `error: cannot write ${out}: permission denied\n` +
          `hint: check that you may write to ${locked}, or choose another -o path\n`,
      );
      expect(r.stderr).not.toContain('run the command again');
    },
  );
});
