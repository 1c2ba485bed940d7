import * as z from 'zod';
import { ID_PATTERN, label } from '../../input.js';
import type { DeliveryView, WebhookEndpoint } from '../../services/webhooks.js';
import { WEBHOOK_EVENT_TYPES } from '../../webhooks/events.js';
import { WebhookUrl } from '../../webhooks/url.js';

/**
 * The public JSON of webhook endpoints and their deliveries (docs/webhooks.md). The secret is
 * never part of an endpoint's JSON: only the create and rotate-secret answers add it.
 */

const id = (what: string, example: string) =>
  z
    .string()
    .max(64, { message: `a ${what} id has at most 64 characters` })
    .regex(ID_PATTERN, { message: `expected a ${what} id, e.g. ${example}` });

export const WebhookParams = z.object({ id: id('webhook endpoint', 'wh_abc…') });
export const DeliveryParams = WebhookParams.extend({ event_id: id('event', 'msg_abc…') });

export const EventTypes = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .max(WEBHOOK_EVENT_TYPES.length * 2)
  .describe(
    'The event types it receives; all of them when left out or empty. webhook.test always reaches it.',
  );

export const Description = label('description', 500).nullable();

export const WebhookInput = { url: WebhookUrl, events: EventTypes, description: Description };

export const WebhookShape = z.object({
  id: z.string().describe('The endpoint id, `wh_…`.'),
  url: z.string(),
  events: z.array(z.string()),
  description: z.string().nullable(),
  disabled: z.boolean().describe('True after the receiver answered 410 Gone, or a PATCH disabled it.'),
  disabled_reason: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const WebhookWithSecret = WebhookShape.extend({
  secret: z.string().describe('`whsec_…`: shown only in this answer. Verify deliveries with it.'),
});

export type WebhookJson = z.infer<typeof WebhookShape>;

export function webhookJson(row: WebhookEndpoint): WebhookJson {
  return {
    id: row.id,
    url: row.url,
    events: row.events.length === 0 ? [...WEBHOOK_EVENT_TYPES] : [...row.events],
    description: row.description,
    disabled: row.disabledAt !== null,
    disabled_reason: row.disabledReason,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export const DeliveryShape = z.object({
  event_id: z.string().describe('`msg_…`: the webhook-id header of every attempt.'),
  type: z.string(),
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  next_attempt_at: z.string().nullable().describe('When it is tried next; null unless pending.'),
  last_attempt_at: z.string().nullable(),
  last_status: z
    .number()
    .int()
    .nullable()
    .describe('The HTTP status of the last attempt; null when none came.'),
  last_latency_ms: z.number().int().nullable(),
  last_error: z.string().nullable(),
  created_at: z.string(),
});

export function deliveryJson({ delivery: d, type }: DeliveryView): z.infer<typeof DeliveryShape> {
  return {
    event_id: d.eventId,
    type,
    state: d.state,
    attempts: d.attempts,
    next_attempt_at: d.state === 'pending' ? d.nextAttemptAt.toISOString() : null,
    last_attempt_at: d.lastAttemptAt?.toISOString() ?? null,
    last_status: d.lastStatus,
    last_latency_ms: d.lastLatencyMs,
    last_error: d.lastError,
    created_at: d.createdAt.toISOString(),
  };
}
