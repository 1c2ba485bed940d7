import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGdriveEmulator } from '../fixtures/emulators/gdrive.js';
import type { GdriveEmulator } from '../fixtures/emulators/gdrive.js';
import { startGcalEmulator } from '../fixtures/emulators/gcal.js';
import type { GcalEmulator } from '../fixtures/emulators/gcal.js';
import { tempHome } from '../helpers/home.js';
import { runCli } from '../helpers/io.js';

/**
 * The Google Calendar and Drive emulators refuse what the real services refuse, and connectr
 * reports those refusals the way users need them (the sync token cases of Calendar above all).
 */
describe('the Google Calendar emulator and connector', () => {
  let gcal: GcalEmulator;
  const home = tempHome();
  const auth = { authorization: 'Bearer t' };
  const events = (): string => `${gcal.url}/calendar/v3/calendars/primary/events`;
  const call = (args: string[]): ReturnType<typeof runCli> =>
    runCli(['call', 'gcal', ...args], {
      ...home.env,
      CONNECTR_GCAL_API_BASE_URL: gcal.url,
      CONNECTR_GCAL_TOKEN: 't',
    });
  beforeAll(async () => {
    gcal = await startGcalEmulator();
  });
  afterAll(async () => {
    await gcal.close();
    home.cleanup();
  });

  it('refuses an unknown query parameter and a sync token with a filter, as Google does', async () => {
    const unknown = await fetch(`${events()}?maxResult=3`, { headers: auth });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({
      error: { code: 400, message: expect.stringContaining('Unknown name "maxResult"') as unknown },
    });
    const filtered = await fetch(`${events()}?syncToken=s1.0&q=x`, { headers: auth });
    expect(filtered.status).toBe(400);
    expect((await fetch(events())).status).toBe(401);
  });

  it('syncs: a full listing, a change and a deletion, then only those', async () => {
    const full = await call(['list_events', '--all']);
    expect(full.code, full.stderr).toBe(0);
    expect(full.stdout.trim().split('\n')).toHaveLength(5);
    // Without --all the page itself is printed, with the token for the next sync.
    const page = JSON.parse((await call(['list_events'])).stdout) as { nextSyncToken: string };
    expect((await call(['patch_event', '--event-id', 'evt0001', '--summary', 'Renamed'])).code).toBe(0);
    expect((await call(['delete_event', '--event-id', 'evt0002'])).code).toBe(0);
    const changes = await call(['sync_events', '--sync-token', page.nextSyncToken]);
    expect(changes.code, changes.stderr).toBe(0);
    const answer = JSON.parse(changes.stdout) as { items: unknown[]; nextSyncToken: string };
    expect(answer.items).toEqual([
      expect.objectContaining({ id: 'evt0001', summary: 'Renamed' }),
      { kind: 'calendar#event', id: 'evt0002', status: 'cancelled' },
    ]);
    // Nothing changed since the new token.
    const none = JSON.parse((await call(['sync_events', '--sync-token', answer.nextSyncToken])).stdout) as {
      items: unknown[];
    };
    expect(none.items).toEqual([]);
  });

  it('an expired sync token is an API error naming fullSyncRequired (exit 4)', async () => {
    const page = JSON.parse((await call(['list_events'])).stdout) as { nextSyncToken: string };
    gcal.expireSyncTokens();
    const r = await call(['sync_events', '--sync-token', page.nextSyncToken]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('Sync token is no longer valid, a full sync is required.');
    expect(r.stderr).toContain('fullSyncRequired');
  });

  it('a second delete of an event is 410 deleted, and a missing event 404', async () => {
    expect((await call(['delete_event', '--event-id', 'evt0003'])).code).toBe(0);
    const again = await call(['delete_event', '--event-id', 'evt0003']);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('Resource has been deleted');
    expect((await call(['get_event', '--event-id', 'nope'])).code).toBe(4);
  });
});

describe('Google Drive resumable uploads', () => {
  let drive: GdriveEmulator;
  const home = tempHome();
  const dir = mkdtempSync(join(tmpdir(), 'connectr-gdrive-'));
  const call = (args: string[]): ReturnType<typeof runCli> =>
    runCli(['call', 'gdrive', ...args], {
      ...home.env,
      CONNECTR_GDRIVE_API_BASE_URL: drive.url,
      CONNECTR_GDRIVE_TOKEN: 't',
    });
  // 8 MiB chunks: 9 MiB + 5 bytes is two chunks, the second short.
  const data = Buffer.alloc(9 * 1024 * 1024 + 5);
  for (let i = 0; i < data.length; i++) data[i] = 97 + ((i * 7) % 26);
  const path = join(dir, 'big.bin');
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  beforeAll(async () => {
    drive = await startGdriveEmulator();
    writeFileSync(path, data);
  });
  afterAll(async () => {
    await drive.close();
    home.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const puts = (from: number): string[] =>
    drive.requests
      .slice(from)
      .filter((r) => r.method === 'PUT')
      .map((r) => r.headers['content-range'] ?? '');

  it('sends a file larger than one chunk through a session: 308 then the file', async () => {
    const before = drive.requests.length;
    const r = await call(['upload', '--file-id', '1Fid0003', '--file', path]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: '1Fid0003', size: String(data.length) });
    expect(sha(drive.files.get('1Fid0003')?.content ?? Buffer.alloc(0))).toBe(sha(data));
    const start = drive.requests[before];
    expect(`${start?.method} ${start?.url.search}`).toBe('PATCH ?uploadType=resumable');
    expect(puts(before)).toEqual([`bytes 0-8388607/*`, `bytes 8388608-${data.length - 1}/${data.length}`]);
  });

  it('after a chunk whose answer was lost, asks the session and goes on from what it holds', async () => {
    drive.loseNextChunkAnswer();
    const before = drive.requests.length;
    const r = await call(['upload', '--file-id', '1Fid0004', '--file', path]);
    expect(r.code, r.stderr).toBe(0);
    expect(sha(drive.files.get('1Fid0004')?.content ?? Buffer.alloc(0))).toBe(sha(data));
    // The first chunk reached the session; its 308 was lost. A status query, then only the rest.
    expect(puts(before)).toEqual([
      'bytes 0-8388607/*',
      'bytes */*',
      `bytes 8388608-${data.length - 1}/${data.length}`,
    ]);
  });

  it('after the answer to the last chunk was lost, the status query gives the file', async () => {
    const small = join(dir, 'small.bin');
    writeFileSync(small, data.subarray(0, 6 * 1024 * 1024));
    drive.loseNextChunkAnswer();
    const r = await call(['upload', '--file-id', '1Fid0006', '--file', small]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: '1Fid0006', size: String(6 * 1024 * 1024) });
  });

  it('gives up on a session that keeps taking nothing, instead of sending forever', async () => {
    const small = join(dir, 'small.bin');
    writeFileSync(small, data.subarray(0, 6 * 1024 * 1024));
    drive.faults.push({ match: (r) => r.method === 'PUT', status: 308, body: {}, times: 50 });
    const before = drive.requests.length;
    const r = await call(['upload', '--file-id', '1Fid0007', '--file', small]);
    drive.faults.length = 0;
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('kept refusing the bytes from 0 of the upload');
    expect(puts(before).length).toBeLessThanOrEqual(6);
  });

  it('streams standard input through a session without knowing its size', async () => {
    const before = drive.requests.length;
    const r = await runCli(
      ['call', 'gdrive', 'upload', '--file-id', '1Fid0005', '--file', '-'],
      { ...home.env, CONNECTR_GDRIVE_API_BASE_URL: drive.url, CONNECTR_GDRIVE_TOKEN: 't' },
      { stdin: data.toString('ascii') },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(sha(drive.files.get('1Fid0005')?.content ?? Buffer.alloc(0))).toBe(sha(data));
    expect(puts(before)).toHaveLength(2);
  });

  it('a Docs file is exported, not downloaded (403 fileNotDownloadable, exit 4)', async () => {
    const r = await call(['download', '--file-id', '1Fid0004x']);
    expect(r.code).toBe(4);
    const doc = await call(['download', '--file-id', '1Fid0004']);
    // 1Fid0004 now holds uploaded bytes but is still a Docs file.
    expect(doc.code).toBe(4);
    expect(doc.stderr).toContain('fileNotDownloadable');
  });
});
