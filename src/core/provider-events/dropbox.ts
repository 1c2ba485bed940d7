import { accountKeys, echoable, hmacHex, header, parseJson, signers } from './parts.js';
import { eventFor, refused, type ShapeVerifier } from './types.js';

/**
 * Dropbox webhooks (https://www.dropbox.com/developers/reference/webhooks): the verification
 * request is `GET ?challenge=…`, answered with the challenge as text/plain (nosniff); a
 * notification is a POST whose `X-Dropbox-Signature` is the hex HMAC-SHA256 of the raw body
 * keyed with the app secret, its body `{"list_folder": {"accounts": [...]}, "delta": {...}}`.
 * Dropbox signs no timestamp, so a replay cannot be told apart: the event says only "look again".
 */
export const verifyDropbox: ShapeVerifier<'dropbox'> = ({ definition, request, secrets }) => {
  if (request.method === 'GET') {
    const challenge = request.query.get('challenge');
    return echoable(challenge) ? { kind: 'handshake', body: challenge } : refused(400, 'malformed');
  }
  if (request.method !== 'POST') return refused(405, 'method');
  const given = header(request, 'x-dropbox-signature');
  if (given === undefined) return refused(401, 'missing_signature');
  if (secrets.length === 0) return refused(403, 'no_secret');
  const owners = signers(secrets, given.toLowerCase(), (secret) => hmacHex(secret, request.body));
  if (owners.length === 0) return refused(403, 'bad_signature');
  const payload = parseJson(request.body);
  if (payload === undefined) return refused(400, 'malformed');
  return eventFor(owners, {
    eventType: definition.event_type,
    accountKeys: accountKeys(payload, definition.accounts),
    payload,
  });
};
