import { accountKeys, hmacHex, header, parseJson, signers } from './parts.js';
import { eventFor, refused, type ShapeVerifier } from './types.js';

/**
 * GitHub webhooks (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries):
 * `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` keyed with the webhook secret;
 * `X-GitHub-Event` names the event, `X-GitHub-Delivery` is the delivery's GUID (the same on a
 * redelivery, so a repeat is recorded once). The body is JSON, or with the form content type
 * `payload=<JSON>` (https://docs.github.com/en/webhooks/webhook-events-and-payloads). The
 * `ping` sent when a hook is created is the handshake: answered, not forwarded.
 */
export const verifyGithub: ShapeVerifier<'github'> = ({ definition, request, secrets }) => {
  if (request.method !== 'POST') return refused(405, 'method');
  const given = header(request, 'x-hub-signature-256');
  if (given === undefined) return refused(401, 'missing_signature');
  if (secrets.length === 0) return refused(403, 'no_secret');
  const owners = signers(secrets, given.toLowerCase(), (secret) => `sha256=${hmacHex(secret, request.body)}`);
  if (owners.length === 0) return refused(403, 'bad_signature');
  const event = header(request, 'x-github-event');
  const delivery = header(request, 'x-github-delivery');
  if (event === undefined || !/^[a-z_]{1,64}$/.test(event)) return refused(400, 'malformed');
  const type = header(request, 'content-type') ?? '';
  const payload = type.startsWith('application/x-www-form-urlencoded')
    ? parseJson(new URLSearchParams(request.body.toString('utf8')).get('payload') ?? '')
    : parseJson(request.body);
  if (payload === undefined) return refused(400, 'malformed');
  if (event === 'ping') return { kind: 'handshake', body: 'pong' };
  return eventFor(owners, {
    eventType: event,
    accountKeys: accountKeys(payload, definition.accounts),
    ...(delivery === undefined ? {} : { dedupeKey: delivery }),
    payload,
  });
};
