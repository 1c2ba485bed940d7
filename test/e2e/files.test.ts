import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
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
 * Files stream through connectr in constant memory: 50 MB down and up (plain and through
 * upload sessions) in the real binary, with its peak RSS compared to the same command on a
 * 1 KB file. The limit is 64 MB of growth.
 */
const MB = 1024 * 1024;
const LIMIT = 64 * MB;

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

describe('files', () => {
  const home = tempHome();
  let dropbox: DropboxEmulator;
  let graph: GraphEmulator;
  let env: Record<string, string>;
  const small = join(home.dir, 'small.bin');
  const big = join(home.dir, 'big.bin');

  beforeAll(async () => {
    dropbox = await startDropboxEmulator();
    graph = await startGraphEmulator();
    dropbox.addFile('/big.bin', { size: 50 * MB });
    dropbox.addFile('/small.bin', { size: 1024 });
    await pipeline(Readable.from(patternBytes(50 * MB)), createWriteStream(big));
    await pipeline(Readable.from(patternBytes(1024)), createWriteStream(small));
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

  /** Peak RSS of `connectr <args>` with the big and the small file, and the growth between them. */
  async function growth(
    args: (file: string, name: string) => string[],
  ): Promise<{ growth: number; big: string; stderr: string }> {
    const base = await peakRss(startBin(args(small, 'small.bin'), env, 120_000));
    expect(base.code, base.stderr).toBe(0);
    const run = await peakRss(startBin(args(big, 'big.bin'), env, 120_000));
    expect(run.code, run.stderr).toBe(0);
    return { growth: run.peak - base.peak, big: run.stdout, stderr: run.stderr };
  }

  it('downloads 50 MB to a file in constant memory', async () => {
    const out = (name: string): string => join(home.dir, `down-${name}`);
    const { growth: grew } = await growth((_, name) => [
      'call',
      'dropbox',
      'download',
      '--path',
      `/${name}`,
      '-o',
      out(name),
    ]);
    expect(grew).toBeLessThan(LIMIT);
    expect(await sha256File(out('big.bin'))).toBe(patternSha256(50 * MB));
  }, 120_000);

  it('uploads 50 MB in one streamed request in constant memory', async () => {
    const { growth: grew, big: stdout } = await growth((file, name) => [
      'call',
      'dropbox',
      'upload',
      '--path',
      `/up/${name}`,
      '--file',
      file,
    ]);
    expect(grew).toBeLessThan(LIMIT);
    expect(JSON.parse(stdout)).toMatchObject({ path_display: '/up/big.bin', size: 50 * MB });
    expect(dropbox.entries.get('/up/big.bin')?.sha256).toBe(patternSha256(50 * MB));
    expect(
      dropbox.content.requests.filter((r) => r.url.pathname === '/2/files/upload').at(-1)?.headers[
        'content-length'
      ],
    ).toBe(String(50 * MB));
  }, 120_000);

  it('uploads 50 MB through a Graph upload session in 320 KiB-multiple chunks, without the token', async () => {
    const before = graph.uploads.requests.length;
    const { growth: grew, big: stdout } = await growth((file, name) => [
      'call',
      'onedrive',
      'upload',
      '--filename',
      name,
      '--file',
      file,
    ]);
    expect(grew).toBeLessThan(LIMIT);
    expect(JSON.parse(stdout)).toMatchObject({ name: 'big.bin', size: 50 * MB });
    const item = [...graph.items.values()].find((i) => i.name === 'big.bin');
    expect(item?.sha256).toBe(patternSha256(50 * MB));
    const chunks = graph.uploads.requests.slice(before);
    // 5 MiB chunks (16 x 320 KiB), as the connector declares.
    expect(chunks.map((c) => c.headers['content-range'])).toEqual(
      Array.from({ length: 10 }, (_, i) => `bytes ${i * 5 * MB}-${(i + 1) * 5 * MB - 1}/${50 * MB}`),
    );
    expect(chunks.every((c) => c.headers.authorization === undefined)).toBe(true);
  }, 120_000);

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
