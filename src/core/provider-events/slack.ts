import { getPath } from '../json-path.js';
import { accountKeys, echoable, hmacHex, header, parseJson, signers, textAt } from './parts.js';
import { eventFor, refused, type ShapeVerifier } from './types.js';

/** Slack refuses requests more than five minutes from local time, either way. */
export const SLACK_TOLERANCE_SECONDS = 5 * 60;

/**
 * Slack's Events API (https://api.slack.com/apis/events-api) signs every request, the
 * url_verification handshake included (https://api.slack.com/authentication/verifying-requests-from-slack):
 * `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{X-Slack-Request-Timestamp}:{raw body}">` with
 * the app's signing secret; a timestamp more than five minutes away is a replay. The handshake
 * `{"type": "url_verification", "challenge": …}` is answered with the challenge; events arrive as
 * `{"type": "event_callback", "team_id", "authorizations", "event_id", "event": {"type", …}}`.
 */
export const verifySlack: ShapeVerifier<'slack'> = ({ definition, request, secrets, now }) => {
  if (request.method !== 'POST') return refused(405, 'method');
  const timestamp = header(request, 'x-slack-request-timestamp');
  const given = header(request, 'x-slack-signature');
  if (timestamp === undefined || given === undefined) return refused(401, 'missing_signature');
  if (!/^[0-9]{1,12}$/.test(timestamp)) return refused(401, 'missing_signature');
  if (Math.abs(now / 1000 - Number(timestamp)) > SLACK_TOLERANCE_SECONDS) {
    return refused(403, 'stale_timestamp');
  }
  if (secrets.length === 0) return refused(403, 'no_secret');
  const owners = signers(
    secrets,
    given,
    (secret) => `v0=${hmacHex(secret, `v0:${timestamp}:`, request.body)}`,
  );
  if (owners.length === 0) return refused(403, 'bad_signature');
  const payload = parseJson(request.body);
  if (payload === undefined) return refused(400, 'malformed');
  if (textAt(payload, 'type') === 'url_verification') {
    const challenge = textAt(payload, 'challenge');
    return echoable(challenge) ? { kind: 'handshake', body: challenge } : refused(400, 'malformed');
  }
  const eventType = getPath(payload, definition.event_type_path);
  const eventId = textAt(payload, 'event_id');
  return eventFor(owners, {
    eventType: typeof eventType === 'string' ? eventType : (textAt(payload, 'type') ?? 'unknown'),
    accountKeys: accountKeys(payload, definition.accounts),
    ...(eventId === undefined ? {} : { dedupeKey: eventId }),
    payload,
  });
};
