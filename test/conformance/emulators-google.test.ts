import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
