import { getPath } from '../json-path.js';
import { echoable, isRecord, parseJson, sameText, textAt } from './parts.js';
import {
  refused,
  type GraphSubscription,
  type PushEvent,
  type RefusalReason,
  type ShapeVerifier,
} from './types.js';

/** Graph batches notifications; more than this in one request is not a batch Graph sends. */
const MAX_NOTIFICATIONS = 1000;

/**
 * Microsoft Graph change notifications
 * (https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks): when a
 * subscription is created Graph POSTs `?validationToken=…`, to be echoed as text/plain within
 * 10 seconds; then each POST carries `{"value": [{subscriptionId, clientState, changeType,
 * resource, tenantId, …}]}`, answered 202. `clientState` is the secret connectr gave the
 * subscription: a notification whose clientState differs is discarded. Lifecycle notifications
 * (https://learn.microsoft.com/en-us/graph/change-notifications-lifecycle-events) carry
 * `lifecycleEvent` (reauthorizationRequired, subscriptionRemoved, missed) instead of changeType,
 * and are forwarded under that name.
 */
export const verifyGraph: ShapeVerifier<'microsoft_graph'> = async ({
  definition,
  request,
  subscriptions,
}) => {
  const validationToken = request.query.get('validationToken');
  if (validationToken !== null) {
    return echoable(validationToken)
      ? { kind: 'handshake', body: validationToken }
      : refused(400, 'malformed');
  }
  if (request.method !== 'POST') return refused(405, 'method');
  const body = parseJson(request.body);
  const value = isRecord(body) ? body.value : undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_NOTIFICATIONS) {
    return refused(400, 'malformed');
  }
  const notifications = value as unknown[];
  const ids = [
    ...new Set(notifications.map((n) => textAt(n, 'subscriptionId')).filter((id) => id !== undefined)),
  ];
  const known: ReadonlyMap<string, GraphSubscription> =
    ids.length > 0 && subscriptions ? await subscriptions(ids) : new Map<string, GraphSubscription>();
  const events: PushEvent[] = [];
  const discarded: RefusalReason[] = [];
  for (const notification of notifications) {
    const id = textAt(notification, 'subscriptionId');
    const given = textAt(notification, 'clientState');
    const subscription = id === undefined ? undefined : known.get(id);
    if (!isRecord(notification) || id === undefined) {
      discarded.push('malformed');
    } else if (
      subscription === undefined ||
      given === undefined ||
      !sameText(given, subscription.clientState)
    ) {
      discarded.push('bad_client_state');
    } else {
      const { clientState: _ours, ...payload } = notification;
      const type =
        textAt(notification, 'lifecycleEvent') ?? getPath(notification, definition.event_type_path);
      events.push({
        owner: subscription.owner,
        eventType: typeof type === 'string' ? type : 'unknown',
        accountKeys: [],
        subscriptionId: id,
        payload,
      });
    }
  }
  if (events.length === 0)
    return refused(discarded.includes('malformed') ? 400 : 403, discarded[0] ?? 'malformed');
  return { kind: 'events', status: 202, events, discarded };
};
