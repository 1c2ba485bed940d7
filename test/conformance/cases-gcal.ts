import { expect } from 'vitest';
import { startGcalEmulator } from '../fixtures/emulators/gcal.js';
import type { ConnectorCase } from './cases.js';

/** Google Calendar v3: the gcal connector against the Calendar emulator. */

const start = JSON.stringify({ dateTime: '2026-12-24T18:00:00Z' });
const end = JSON.stringify({ dateTime: '2026-12-24T21:00:00Z' });
const reminders = JSON.stringify({ useDefault: false, overrides: [{ method: 'popup', minutes: 10 }] });

export const gcal: ConnectorCase = {
  connector: 'gcal',
  async start(dir) {
    const token = 'gcal-conformance-token';
    const emulator = await startGcalEmulator({ acceptToken: (t) => t === token, events: 5 });
    return {
      hosts: { api: emulator },
      env: { CONNECTR_GCAL_API_BASE_URL: emulator.url, CONNECTR_GCAL_TOKEN: token },
      token,
      dir,
      close: () => emulator.close(),
    };
  },
  endpoints: {
    list_calendars: {
      args: () => [
        '--max-results',
        '10',
        '--min-access-role',
        'reader',
        '--show-deleted',
        '--show-hidden',
        '--page-token',
        'MA',
        '--sync-token',
        'cl1',
      ],
      expect: {
        host: 'api',
        method: 'GET',
        path: '/calendar/v3/users/me/calendarList',
        query: {
          maxResults: '10',
          minAccessRole: 'reader',
          showDeleted: 'true',
          showHidden: 'true',
          pageToken: 'MA',
          syncToken: 'cl1',
        },
      },
      output: (out) => expect((JSON.parse(out) as { items: unknown[] }).items).toHaveLength(3),
    },
    get_calendar: {
      args: () => [],
      expect: { host: 'api', method: 'GET', path: '/calendar/v3/calendars/primary' },
      output: (out) => expect(JSON.parse(out)).toMatchObject({ id: 'ann@example.com' }),
    },
    list_events: {
      args: () => [
        '--calendar-id',
        'primary',
        '--event-types',
        'default',
        '--event-types',
        'focusTime',
        '--ical-uid',
        'abc@google.com',
        '--max-attendees',
        '5',
        '--max-results',
        '50',
        '--order-by',
        'startTime',
        '--single-events',
        '--page-token',
        'MA',
        '--private-extended-property',
        'a=1',
        '--shared-extended-property',
        'b=2',
        '--q',
        'meeting',
        '--show-deleted',
        '--show-hidden-invitations',
        '--time-min',
        '2026-12-01T00:00:00Z',
        '--time-max',
        '2026-12-31T00:00:00Z',
        '--time-zone',
        'Europe/Zurich',
        '--updated-min',
        '2026-01-01T00:00:00Z',
      ],
      expect: {
        host: 'api',
        method: 'GET',
        path: '/calendar/v3/calendars/primary/events',
        query: {
          eventTypes: ['default', 'focusTime'],
          iCalUID: 'abc@google.com',
          maxAttendees: '5',
          maxResults: '50',
          orderBy: 'startTime',
          singleEvents: 'true',
          pageToken: 'MA',
          privateExtendedProperty: 'a=1',
          sharedExtendedProperty: 'b=2',
          q: 'meeting',
          showDeleted: 'true',
          showHiddenInvitations: 'true',
          timeMin: '2026-12-01T00:00:00Z',
          timeMax: '2026-12-31T00:00:00Z',
          timeZone: 'Europe/Zurich',
          updatedMin: '2026-01-01T00:00:00Z',
        },
      },
      output: (out) => {
        const page = JSON.parse(out) as { items: unknown[]; nextSyncToken?: string };
        expect(page.items).toHaveLength(5);
        expect(page.nextSyncToken).toMatch(/^s/);
      },
    },
    sync_events: {
      // A real round: a full listing for its token, a change, then only that change.
      async args(w) {
        const base = `${w.hosts.api?.url ?? ''}/calendar/v3/calendars/primary/events`;
        const auth = { authorization: `Bearer ${w.token}`, 'content-type': 'application/json' };
        const full = (await (await fetch(base, { headers: auth })).json()) as { nextSyncToken: string };
        await fetch(`${base}/evt0004`, { method: 'PATCH', headers: auth, body: '{"summary":"Changed"}' });
        return [
          '--sync-token',
          full.nextSyncToken,
          '--event-types',
          'default',
          '--max-attendees',
          '2',
          '--max-results',
          '100',
          '--page-token',
          'MA',
          '--show-deleted',
          '--show-hidden-invitations',
          '--single-events',
          '--time-zone',
          'UTC',
        ];
      },
      expect: {
        host: 'api',
        method: 'GET',
        path: '/calendar/v3/calendars/primary/events',
        query: {
          eventTypes: 'default',
          maxAttendees: '2',
          maxResults: '100',
          pageToken: 'MA',
          showDeleted: 'true',
          showHiddenInvitations: 'true',
          singleEvents: 'true',
          timeZone: 'UTC',
        },
      },
      output: (out) => {
        const page = JSON.parse(out) as { items: { id: string; summary: string }[]; nextSyncToken?: string };
        expect(page.items).toEqual([expect.objectContaining({ id: 'evt0004', summary: 'Changed' })]);
        expect(page.nextSyncToken).toMatch(/^s/);
      },
    },
    get_event: {
      args: () => ['--event-id', 'evt0001', '--max-attendees', '3', '--time-zone', 'UTC'],
      expect: {
        host: 'api',
        method: 'GET',
        path: '/calendar/v3/calendars/primary/events/evt0001',
        query: { maxAttendees: '3', timeZone: 'UTC' },
      },
      output: (out) => expect(JSON.parse(out)).toMatchObject({ id: 'evt0001', summary: 'Meeting 1' }),
    },
    insert_event: {
      args: () => [
        '--summary',
        'Dinner',
        '--description',
        'With <b>everyone</b>',
        '--location',
        'Home',
        '--start',
        start,
        '--end',
        end,
        '--recurrence',
        'RRULE:FREQ=YEARLY',
        '--attendees',
        '{"email":"ann@example.com"}',
        '--attendees',
        '{"email":"bob@example.com","optional":true}',
        '--color-id',
        '5',
        '--transparency',
        'opaque',
        '--visibility',
        'private',
        '--reminders',
        reminders,
        '--conference-data-version',
        '1',
        '--max-attendees',
        '10',
        '--send-updates',
        'none',
        '--supports-attachments',
      ],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/calendar/v3/calendars/primary/events',
        query: {
          conferenceDataVersion: '1',
          maxAttendees: '10',
          sendUpdates: 'none',
          supportsAttachments: 'true',
        },
        headers: { 'content-type': 'application/json' },
        json: {
          summary: 'Dinner',
          description: 'With <b>everyone</b>',
          location: 'Home',
          start: JSON.parse(start) as unknown,
          end: JSON.parse(end) as unknown,
          recurrence: ['RRULE:FREQ=YEARLY'],
          attendees: [{ email: 'ann@example.com' }, { email: 'bob@example.com', optional: true }],
          colorId: '5',
          transparency: 'opaque',
          visibility: 'private',
          reminders: JSON.parse(reminders) as unknown,
        },
      },
      output: (out) => expect(JSON.parse(out)).toMatchObject({ summary: 'Dinner', status: 'confirmed' }),
    },
    patch_event: {
      args: () => [
        '--event-id',
        'evt0002',
        '--summary',
        'Moved',
        '--description',
        'later',
        '--location',
        'Room 2',
        '--start',
        start,
        '--end',
        end,
        '--recurrence',
        'RRULE:FREQ=WEEKLY;COUNT=2',
        '--attendees',
        '[{"email":"cy@example.com","responseStatus":"needsAction"}]',
        '--color-id',
        '2',
        '--transparency',
        'transparent',
        '--visibility',
        'public',
        '--reminders',
        reminders,
        '--conference-data-version',
        '0',
        '--max-attendees',
        '1',
        '--send-updates',
        'all',
        '--supports-attachments',
      ],
      expect: {
        host: 'api',
        method: 'PATCH',
        path: '/calendar/v3/calendars/primary/events/evt0002',
        query: {
          conferenceDataVersion: '0',
          maxAttendees: '1',
          sendUpdates: 'all',
          supportsAttachments: 'true',
        },
        json: {
          summary: 'Moved',
          location: 'Room 2',
          transparency: 'transparent',
          visibility: 'public',
          attendees: [{ email: 'cy@example.com', responseStatus: 'needsAction' }],
        },
      },
      output: (out) => expect(JSON.parse(out)).toMatchObject({ id: 'evt0002', summary: 'Moved' }),
    },
    delete_event: {
      args: () => ['--event-id', 'evt0003', '--send-updates', 'externalOnly'],
      expect: {
        host: 'api',
        method: 'DELETE',
        path: '/calendar/v3/calendars/primary/events/evt0003',
        query: { sendUpdates: 'externalOnly' },
      },
    },
  },
  idempotent: { endpoint: 'get_calendar', args: [] },
  everyHost: [{ endpoint: 'get_calendar', args: () => [] }],
  nonIdempotent: { endpoint: 'insert_event', args: ['--start', start, '--end', end] },
  pagination: {
    list_calendars: { args: () => ['--max-results', '1'], items: 3, minPages: 3 },
    list_events: { args: () => ['--max-results', '2'], items: 5, minPages: 3 },
    // s1.0: the emulator's token for "before the first change", so all five events changed since.
    sync_events: { args: () => ['--sync-token', 's1.0', '--max-results', '2'], items: 5, minPages: 3 },
  },
};
