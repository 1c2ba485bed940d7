import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBin } from '../helpers/bin.js';
import { runCli } from '../helpers/io.js';
import { peakRss } from '../helpers/memory.js';
import { emulatorEnv } from '../helpers/emulator-env.js';
import { tempHome } from '../helpers/home.js';
import { startDropboxEmulator } from '../fixtures/emulators/dropbox.js';
import type { DropboxEmulator } from '../fixtures/emulators/dropbox.js';
import { startGraphEmulator } from '../fixtures/emulators/graph.js';
import type { GraphEmulator } from '../fixtures/emulators/graph.js';
import { patternBytes, patternSha256 } from '../fixtures/emulators/server.js';

/**
 * Files stream through connectr in constant memory: in the real binary, its peak RSS on a big
 * transfer is compared to the same command on a 1 KB file. The payloads are several times the
 * allowed growth, so a command that holds the body in memory cannot pass: 256 MB down and up
 * through an upload session, and 150 MB up in one streamed request (the most Dropbox takes in
 * one request). Payloads are generated as streams; the temp files are removed after each test.
 */
const MB = 1024 * 1024;
const LIMIT = 64 * MB;
const PAYLOAD = 256 * MB;
const SINGLE = 150 * MB;
/** Each big transfer, with its 1 KB baseline, stays well within the test's 30 s. */
const RUN_MS = 25_000;

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function patternFile(path: string, size: number): Promise<string> {
  await pipeline(Readable.from(patternBytes(size)), createWriteStream(path));
  return path;
}

describe('files', () => {
  const home = tempHome();
  let dropbox: DropboxEmulator;
  let graph: GraphEmulator;
  let env: Record<string, string>;
  const small = join(home.dir, 'small.bin');

  beforeAll(async () => {
    dropbox = await startDropboxEmulator();
    graph = await startGraphEmulator();
    dropbox.addFile('/big.bin', { size: PAYLOAD });
    dropbox.addFile('/small.bin', { size: 1024 });
    await patternFile(small, 1024);
    env = {
      ...home.env,
      ...emulatorEnv({ dropbox, graph }),
    };
  });
  afterAll(async () => {
    await dropbox.close();
    await graph.close();
    home.cleanup();
  });

  /**
   * Peak RSS of `connectr <args>` with a `size`-byte file and with the small file, and the
   * growth between them. The big file is written before and removed after.
   */
  async function growth(
    size: number,
    args: (file: string, name: string) => string[],
  ): Promise<{ growth: number; big: string; stderr: string }> {
    const big = await patternFile(join(home.dir, 'big.bin'), size);
    try {
      const base = await peakRss(startBin(args(small, 'small.bin'), env, RUN_MS));
      expect(base.code, base.stderr).toBe(0);
      const run = await peakRss(startBin(args(big, 'big.bin'), env, RUN_MS));
      expect(run.code, run.stderr).toBe(0);
      return { growth: run.peak - base.peak, big: run.stdout, stderr: run.stderr };
    } finally {
      rmSync(big, { force: true });
    }
  }

  it('downloads 256 MB to a file in constant memory', async () => {
    const out = (name: string): string => join(home.dir, `down-${name}`);
    try {
      const base = await peakRss(
        startBin(
          ['call', 'dropbox', 'download', '--path', '/small.bin', '-o', out('small.bin')],
          env,
          RUN_MS,
        ),
      );
      expect(base.code, base.stderr).toBe(0);
      const run = await peakRss(
        startBin(['call', 'dropbox', 'download', '--path', '/big.bin', '-o', out('big.bin')], env, RUN_MS),
      );
      expect(run.code, run.stderr).toBe(0);
      expect(run.peak - base.peak).toBeLessThan(LIMIT);
      expect(await sha256File(out('big.bin'))).toBe(patternSha256(PAYLOAD));
    } finally {
      rmSync(out('big.bin'), { force: true });
    }
  }, 30_000);

  it('uploads 150 MB in one streamed request in constant memory', async () => {
    const { growth: grew, big: stdout } = await growth(SINGLE, (file, name) => [
      'call',
      'dropbox',
      'upload',
      '--path',
      `/up/${name}`,
      '--file',
      file,
    ]);
    expect(grew).toBeLessThan(LIMIT);
    expect(JSON.parse(stdout)).toMatchObject({ path_display: '/up/big.bin', size: SINGLE });
    expect(dropbox.entries.get('/up/big.bin')?.sha256).toBe(patternSha256(SINGLE));
    expect(
      dropbox.content.requests.filter((r) => r.url.pathname === '/2/files/upload').at(-1)?.headers[
        'content-length'
      ],
    ).toBe(String(SINGLE));
  }, 30_000);

  it('uploads 256 MB through a Graph upload session in 320 KiB-multiple chunks, without the token', async () => {
    const before = graph.uploads.requests.length;
    const { growth: grew, big: stdout } = await growth(PAYLOAD, (file, name) => [
      'call',
      'onedrive',
      'upload',
      '--filename',
      name,
      '--file',
      file,
    ]);
    expect(grew).toBeLessThan(LIMIT);
    expect(JSON.parse(stdout)).toMatchObject({ name: 'big.bin', size: PAYLOAD });
    const item = [...graph.items.values()].find((i) => i.name === 'big.bin');
    expect(item?.sha256).toBe(patternSha256(PAYLOAD));
    // The small file went in one PUT; the big one in 5 MiB chunks (16 x 320 KiB), as declared.
    const chunks = graph.uploads.requests.slice(before);
    const chunk = 5 * MB;
    expect(chunks.map((c) => c.headers['content-range'])).toEqual(
      Array.from({ length: Math.ceil(PAYLOAD / chunk) }, (_, i) => {
        const end = Math.min((i + 1) * chunk, PAYLOAD) - 1;
        return `bytes ${i * chunk}-${end}/${PAYLOAD}`;
      }),
    );
    expect(chunks.every((c) => c.headers.authorization === undefined)).toBe(true);
  }, 30_000);

  it('uploads from stdin through a Dropbox upload session', async () => {
    const running = startBin(
      ['call', 'dropbox', 'upload', '--path', '/from-stdin.bin', '--file', '-'],
      env,
      120_000,
    );
    const size = 20 * MB + 12345;
    await pipeline(Readable.from(patternBytes(size)), running.child.stdin);
    const r = await running.done;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ path_display: '/from-stdin.bin', size });
    expect(dropbox.entries.get('/from-stdin.bin')?.sha256).toBe(patternSha256(size));
    const routes = dropbox.content.requests.slice(-3).map((q) => [q.url.pathname, q.bodyLength]);
    expect(routes).toEqual([
      ['/2/files/upload_session/start', 8 * MB],
      ['/2/files/upload_session/append_v2', 8 * MB],
      ['/2/files/upload_session/finish', size - 16 * MB],
    ]);
    expect(JSON.parse(String(dropbox.content.requests.at(-1)?.headers['dropbox-api-arg']))).toMatchObject({
      cursor: { offset: 16 * MB },
      commit: { path: '/from-stdin.bin' },
    });
  }, 120_000);

  it('shows progress on a terminal for transfers over a few MB', async () => {
    dropbox.addFile('/five.bin', { size: 5 * MB });
    const out = join(home.dir, 'five.bin');
    const r = await runCli(['call', 'dropbox', 'download', '--path', '/five.bin', '-o', out], env, {
      tty: true,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\rDownloading 5\.0 MB \/ 5\.0 MB \[#{24}\] 100% /);
    expect(readFileSync(out).length).toBe(5 * MB);
    const quiet = await runCli(['call', 'dropbox', 'download', '--path', '/five.bin', '-o', out], env);
    expect(quiet.stderr).toBe('');
  });
});
