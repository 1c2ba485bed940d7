/**
 * verifyWebhook against deliveries signed by the official Standard Webhooks library (npm
 * `standardwebhooks`), as connectr's daemon signs them: what a receiver relies on to accept
 * connectr's events and to refuse everything else.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { InvalidInputError, WebhookVerificationError, verifyWebhook } from '../src/index.js';
import type { WebhookEvent } from '../src/index.js';

const secret = (): string => `whsec_${randomBytes(32).toString('base64')}`;
const SECRET = secret();
const OLD = secret();

const BODY = JSON.stringify({
  type: 'connection.needs_reauth',
  timestamp: '2026-12-07T20:00:00.000Z',
  data: {
    id: 'conn_1',
    connector_type: 'gmail',
    name: 'Work mail',
    user_id: 'user-1',
    status: 'needs_reauth',
    reason: { code: 'refresh_rejected', message: 'the provider refused the refresh token' },
  },
});

/** The headers of a delivery of `body`, signed by each of `secrets` with the official library. */
function signed(
  body: string,
  secrets: string[] = [SECRET],
  at: Date = new Date(),
  id = 'evt_2KWPBgLlAfxdpx2AI54pPJ85f4W',
): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(id, at, body)).join(' '),
  };
}

function failure(run: () => unknown): WebhookVerificationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return error as WebhookVerificationError;
  }
  throw new Error('expected verifyWebhook to throw');
}

describe('verifyWebhook', () => {
  it('returns the event of a delivery the official library signed, typed by its type', () => {
    const event: WebhookEvent = verifyWebhook(BODY, signed(BODY), SECRET);
    expect(event.type).toBe('connection.needs_reauth');
    if (event.type !== 'connection.needs_reauth') throw new Error('narrowing');
    expect(event.data.reason?.code).toBe('refresh_rejected');
    expect(event.data.id).toBe('conn_1');
  });

  it('takes the body as bytes and the headers as fetch Headers or in any case', () => {
    const headers = signed(BODY);
    const bytes = new TextEncoder().encode(BODY);
    expect(verifyWebhook(bytes, new Headers(headers), SECRET).type).toBe('connection.needs_reauth');
    const shouting = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), [v]]));
    expect(verifyWebhook(BODY, shouting, SECRET).type).toBe('connection.needs_reauth');
  });

  it('refuses a tampered body, a re-serialised one and a wrong secret', () => {
    const headers = signed(BODY);
    failure(() => verifyWebhook(BODY.replace('user-1', 'user-2'), headers, SECRET));
    failure(() => verifyWebhook(JSON.stringify(JSON.parse(BODY), null, 2), headers, SECRET));
    const wrong = failure(() => verifyWebhook(BODY, headers, secret()));
    expect(wrong.message).toContain('No matching signature');
    // A signature moved to another event id, or another time, does not verify either.
    failure(() => verifyWebhook(BODY, { ...headers, 'webhook-id': 'evt_other' }, SECRET));
  });

  it('refuses a timestamp more than five minutes old or ahead (a replay), and accepts one within', () => {
    const now = Date.now();
    const stale = failure(() =>
      verifyWebhook(BODY, signed(BODY, [SECRET], new Date(now - 6 * 60_000)), SECRET),
    );
    expect(stale.message).toContain('too old');
    const ahead = failure(() =>
      verifyWebhook(BODY, signed(BODY, [SECRET], new Date(now + 6 * 60_000)), SECRET),
    );
    expect(ahead.message).toContain('too new');
    expect(verifyWebhook(BODY, signed(BODY, [SECRET], new Date(now - 4 * 60_000)), SECRET).type).toBe(
      'connection.needs_reauth',
    );
  });

  it('during a rotation, a delivery signed by both secrets verifies with either, or with a list', () => {
    const headers = signed(BODY, [OLD, SECRET]);
    expect(headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    expect(verifyWebhook(BODY, headers, OLD).type).toBe('connection.needs_reauth');
    expect(verifyWebhook(BODY, headers, SECRET).type).toBe('connection.needs_reauth');
    // A receiver that holds both while it migrates: the second secret matches the new signature only.
    expect(verifyWebhook(BODY, signed(BODY, [SECRET]), [OLD, SECRET]).type).toBe('connection.needs_reauth');
    failure(() => verifyWebhook(BODY, signed(BODY, [secret()]), [OLD, SECRET]));
  });

  it('refuses a delivery missing any webhook-* header, or with garbage in one', () => {
    const headers = signed(BODY);
    for (const name of Object.keys(headers)) {
      const without = Object.fromEntries(Object.entries(headers).filter(([k]) => k !== name));
      expect(failure(() => verifyWebhook(BODY, without, SECRET)).message).toContain(
        'Missing required headers',
      );
    }
    failure(() => verifyWebhook(BODY, { ...headers, 'webhook-timestamp': 'soon' }, SECRET));
    failure(() => verifyWebhook(BODY, { ...headers, 'webhook-signature': 'v1,' }, SECRET));
    failure(() => verifyWebhook(BODY, { ...headers, 'webhook-signature': 'v1a,abc v2,xyz' }, SECRET));
    failure(() => verifyWebhook(BODY, {}, SECRET));
  });

  it('a signed body that is not an event is refused, and no message shows a secret', () => {
    for (const body of ['', 'not json', '[1,2]', '{"data":{}}']) {
      const error = failure(() => verifyWebhook(body, signed(body), SECRET));
      expect(error.message).not.toContain(SECRET.slice(6));
    }
  });

  it('a malformed secret, or none, is the caller’s InvalidInputError, not a failed delivery', () => {
    for (const bad of ['', 'cnr_apikey', 'whsec_', 'whsec_not base64!', SECRET.slice(6)])
      expect(() => verifyWebhook(BODY, signed(BODY), bad)).toThrow(InvalidInputError);
    expect(() => verifyWebhook(BODY, signed(BODY), [])).toThrow(InvalidInputError);
  });
});
