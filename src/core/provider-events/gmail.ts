import { verifyJwt } from './jwt.js';
import { accountKeys, header, isRecord, parseJson, signers, textAt } from './parts.js';
import { eventFor, refused, type ShapeVerifier } from './types.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Gmail push notifications (https://developers.google.com/gmail/api/guides/push) come through a
 * Cloud Pub/Sub push subscription: a POST of `{"message": {"data": <base64 of
 * {"emailAddress", "historyId"}>, "messageId", "publishTime"}, "subscription"}`, acknowledged by
 * any 2xx. Pub/Sub signs nothing with a shared secret: the push is authenticated by a token
 * connectr put in the push URL (`?token=`, compared with the webhook secret) or, when
 * configured, by the OIDC JWT Pub/Sub sends as `Authorization: Bearer`
 * (https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions).
 */
export const verifyGmail: ShapeVerifier<'gmail_pubsub'> = ({ definition, request, secrets, now, oidc }) => {
  if (request.method !== 'POST') return refused(405, 'method');
  let owners: (string | undefined)[];
  if (oidc) {
    const authorization = header(request, 'authorization');
    const token = authorization?.match(/^Bearer ([^\s]+)$/i)?.[1];
    if (token === undefined) return refused(401, 'missing_signature');
    if (!verifyJwt(token, oidc, now).ok) return refused(403, 'bad_token');
    // The JWT says the push came from Pub/Sub, not whose it is: the project in the URL, when one.
    owners = [secrets.length === 1 ? secrets[0]?.owner : undefined];
  } else {
    const token = request.query.get('token');
    if (token === null) return refused(401, 'missing_signature');
    if (secrets.length === 0) return refused(403, 'no_secret');
    owners = signers(secrets, token, (secret) => secret);
    if (owners.length === 0) return refused(403, 'bad_token');
  }
  const body = parseJson(request.body);
  const message = isRecord(body) ? body.message : undefined;
  const data = textAt(message, 'data');
  if (data === undefined || !(BASE64.test(data) || BASE64URL.test(data))) return refused(400, 'malformed');
  const notification = parseJson(Buffer.from(data, BASE64.test(data) ? 'base64' : 'base64url'));
  if (!isRecord(notification)) return refused(400, 'malformed');
  const messageId = textAt(message, 'messageId') ?? textAt(message, 'message_id');
  return eventFor(owners, {
    eventType: definition.event_type,
    accountKeys: accountKeys(notification, definition.accounts),
    ...(messageId === undefined ? {} : { dedupeKey: messageId }),
    payload: notification,
  });
};
