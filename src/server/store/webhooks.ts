import { and, asc, desc, eq, inArray, isNull, lte, min, or, sql } from 'drizzle-orm';
import { ConnectrError } from '../../core/errors.js';
import type { KeyRing } from '../crypto.js';
import type { Db } from './db.js';
import { newId } from './ids.js';
import { webhookDeliveries, webhookEndpoints, webhookEvents } from './schema.js';
import type { DeliveryState } from './schema.js';

/**
 * Webhook endpoints, the outbox of events and their deliveries. Every query of a project's
 * rows filters on its project; the delivery worker's claim is the one query across projects.
 */

export type WebhookEndpoint = typeof webhookEndpoints.$inferSelect;
export type WebhookEvent = typeof webhookEvents.$inferSelect;
export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;

export const webhookSecretContext = (endpointId: string): string => `webhook_endpoints.secret:${endpointId}`;

export interface NewEndpoint {
  readonly projectId: string;
  readonly url: string;
  readonly events: readonly string[];
  readonly description: string | null;
}

export async function createEndpoint(
  db: Db,
  keys: KeyRing,
  input: NewEndpoint,
  secret: string,
  now: Date,
): Promise<WebhookEndpoint> {
  const id = newId('wh');
  const [row] = await db
    .insert(webhookEndpoints)
    .values({
      id,
      projectId: input.projectId,
      url: input.url,
      events: [...input.events],
      description: input.description,
      secretEncrypted: keys.encrypt(secret, webhookSecretContext(id)),
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  if (!row) throw new Error('inserting a webhook endpoint returned no row');
  return row;
}

export function listEndpoints(db: Db, projectId: string): Promise<WebhookEndpoint[]> {
  return db
    .select()
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.projectId, projectId))
    .orderBy(asc(webhookEndpoints.createdAt), asc(webhookEndpoints.id));
}

/** The project's endpoint, or a not_found naming it (another project's id included). */
export async function requireEndpoint(db: Db, projectId: string, id: string): Promise<WebhookEndpoint> {
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.projectId, projectId), eq(webhookEndpoints.id, id)));
  if (!row) throw endpointNotFound(id);
  return row;
}

function endpointNotFound(id: string): ConnectrError {
  return new ConnectrError('not_found', `no webhook endpoint ${id}`, {
    hint: 'GET /api/v1/webhooks lists the endpoints of this API key’s project',
  });
}

export interface EndpointPatch {
  url?: string;
  events?: string[];
  description?: string | null;
  disabledAt?: Date | null;
  disabledReason?: string | null;
}

export async function updateEndpoint(
  db: Db,
  projectId: string,
  id: string,
  patch: EndpointPatch,
  now: Date,
): Promise<WebhookEndpoint> {
  const [row] = await db
    .update(webhookEndpoints)
    .set({ ...patch, updatedAt: now })
    .where(and(eq(webhookEndpoints.projectId, projectId), eq(webhookEndpoints.id, id)))
    .returning();
  if (!row) throw endpointNotFound(id);
  return row;
}

/** Its pending deliveries go with it. */
export async function deleteEndpoint(db: Db, projectId: string, id: string): Promise<void> {
  const rows = await db
    .delete(webhookEndpoints)
    .where(and(eq(webhookEndpoints.projectId, projectId), eq(webhookEndpoints.id, id)))
    .returning({ id: webhookEndpoints.id });
  if (rows.length === 0) throw endpointNotFound(id);
}

/** The new secret signs from now on; the current one beside it until `overlapUntil`. */
export function rotateSecret(
  db: Db,
  keys: KeyRing,
  projectId: string,
  id: string,
  secret: string,
  overlapUntil: Date,
  now: Date,
): Promise<WebhookEndpoint> {
  return db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.projectId, projectId), eq(webhookEndpoints.id, id)))
      .for('update');
    if (!current) throw endpointNotFound(id);
    const context = webhookSecretContext(id);
    return updateEndpointSecrets(tx, projectId, id, {
      secretEncrypted: keys.encrypt(secret, context),
      // Re-sealed (not copied): the previous secret is read with the current key ring.
      previousSecretEncrypted: keys.encrypt(keys.decrypt(current.secretEncrypted, context), context),
      previousSecretExpiresAt: overlapUntil,
      updatedAt: now,
    });
  });
}

async function updateEndpointSecrets(
  tx: Db,
  projectId: string,
  id: string,
  set: Partial<WebhookEndpoint>,
): Promise<WebhookEndpoint> {
  const [row] = await tx
    .update(webhookEndpoints)
    .set(set)
    .where(and(eq(webhookEndpoints.projectId, projectId), eq(webhookEndpoints.id, id)))
    .returning();
  if (!row) throw endpointNotFound(id);
  return row;
}

/** The secrets that sign a delivery at `now`: the current one, and the previous one during its overlap. */
export function signingSecrets(keys: KeyRing, endpoint: WebhookEndpoint, now: Date): string[] {
  const context = webhookSecretContext(endpoint.id);
  const secrets = [keys.decrypt(endpoint.secretEncrypted, context)];
  if (
    endpoint.previousSecretEncrypted !== null &&
    endpoint.previousSecretExpiresAt !== null &&
    endpoint.previousSecretExpiresAt.getTime() > now.getTime()
  )
    secrets.push(keys.decrypt(endpoint.previousSecretEncrypted, context));
  return secrets;
}

export interface NewEvent {
  readonly projectId: string;
  readonly type: string;
  readonly connectionId: string | null;
  readonly data: unknown;
  /** Only to this endpoint (webhook.test); else to every enabled endpoint that takes the type. */
  readonly endpointId?: string | undefined;
  /** The provider's id of what it pushed: an event already kept with it is not written again. */
  readonly dedupeKey?: string | undefined;
}

/**
 * Writes the event and one pending delivery per endpoint that receives it, in `tx`. Undefined
 * only for an event with a dedupeKey the project's outbox already holds (nothing is written).
 */
export async function insertEvent(
  tx: Db,
  event: NewEvent,
  now: Date,
  retryForMs: number,
): Promise<WebhookEvent | undefined> {
  const [row] = await tx
    .insert(webhookEvents)
    .values({
      id: newId('msg'),
      projectId: event.projectId,
      type: event.type,
      connectionId: event.connectionId,
      payload: event.data,
      dedupeKey: event.dedupeKey ?? null,
      createdAt: now,
    })
    .onConflictDoNothing({ target: [webhookEvents.projectId, webhookEvents.dedupeKey] })
    .returning();
  if (!row) {
    if (event.dedupeKey !== undefined) return undefined;
    throw new Error('inserting a webhook event returned no row');
  }
  const targets = await tx
    .select({ id: webhookEndpoints.id })
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.projectId, event.projectId),
        event.endpointId === undefined
          ? and(
              isNull(webhookEndpoints.disabledAt),
              or(
                sql`cardinality(${webhookEndpoints.events}) = 0`,
                sql`${event.type} = any(${webhookEndpoints.events})`,
              ),
            )
          : eq(webhookEndpoints.id, event.endpointId),
      ),
    );
  if (targets.length > 0) {
    await tx.insert(webhookDeliveries).values(
      targets.map((target) => ({
        eventId: row.id,
        endpointId: target.id,
        projectId: event.projectId,
        connectionId: event.connectionId,
        seq: row.seq,
        nextAttemptAt: now,
        retryUntil: new Date(now.getTime() + retryForMs),
        createdAt: now,
      })),
    );
  }
  return row;
}

/** A delivery claimed for one attempt, with what the attempt sends. */
export interface ClaimedDelivery {
  readonly delivery: WebhookDelivery;
  readonly event: WebhookEvent;
  readonly endpoint: WebhookEndpoint;
}

/**
 * Takes up to `limit` due deliveries for one attempt each: rows another instance is claiming
 * are skipped (FOR UPDATE SKIP LOCKED), and each claimed one is leased until `now + leaseMs`,
 * so no other instance attempts it meanwhile, and a crashed attempt is due again after the lease.
 * A connection's delivery waits while an earlier event of the same connection to the same
 * endpoint is undelivered: one connection's events arrive in order.
 */
export function claimDue(db: Db, now: Date, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  return db.transaction(async (tx) => {
    const due = await tx
      .select()
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.state, 'pending'),
          lte(webhookDeliveries.nextAttemptAt, now),
          sql`not exists (select 1 from ${webhookEndpoints} where ${webhookEndpoints.id} = ${webhookDeliveries.endpointId} and ${webhookEndpoints.disabledAt} is not null)`,
          sql`not exists (select 1 from ${webhookDeliveries} as earlier where earlier.endpoint_id = ${webhookDeliveries.endpointId} and earlier.connection_id = ${webhookDeliveries.connectionId} and earlier.state = 'pending' and earlier.seq < ${webhookDeliveries.seq})`,
        ),
      )
      .orderBy(asc(webhookDeliveries.nextAttemptAt), asc(webhookDeliveries.seq))
      .limit(limit)
      .for('update', { skipLocked: true });
    if (due.length === 0) return [];
    const leased: WebhookDelivery[] = [];
    for (const d of due) {
      const [row] = await tx
        .update(webhookDeliveries)
        .set({
          attempts: sql`${webhookDeliveries.attempts} + 1`,
          nextAttemptAt: new Date(now.getTime() + leaseMs),
          lastAttemptAt: now,
        })
        .where(deliveryKey(d.eventId, d.endpointId))
        .returning();
      if (row) leased.push(row);
    }
    const events = await tx
      .select()
      .from(webhookEvents)
      .where(
        inArray(
          webhookEvents.id,
          leased.map((d) => d.eventId),
        ),
      );
    const endpoints = await tx
      .select()
      .from(webhookEndpoints)
      .where(
        inArray(
          webhookEndpoints.id,
          leased.map((d) => d.endpointId),
        ),
      );
    return leased.flatMap((delivery) => {
      const event = events.find((e) => e.id === delivery.eventId);
      const endpoint = endpoints.find((e) => e.id === delivery.endpointId);
      return event && endpoint ? [{ delivery, event, endpoint }] : [];
    });
  });
}

function deliveryKey(eventId: string, endpointId: string) {
  return and(eq(webhookDeliveries.eventId, eventId), eq(webhookDeliveries.endpointId, endpointId));
}

export interface AttemptRecord {
  readonly state: DeliveryState;
  readonly nextAttemptAt: Date;
  readonly status: number | null;
  readonly latencyMs: number;
  readonly error: string | null;
}

export interface AttemptResult {
  readonly delivery: Pick<WebhookDelivery, 'eventId' | 'endpointId' | 'projectId'>;
  readonly attempt: AttemptRecord;
  /** The endpoint disabled in the same transaction (410 Gone). */
  readonly disable?: { readonly reason: string; readonly at: Date } | undefined;
}

/** What a batch of attempts gave, in one transaction (one commit for the batch). */
export async function recordAttempts(db: Db, results: readonly AttemptResult[]): Promise<void> {
  if (results.length === 0) return;
  await db.transaction(async (tx) => {
    for (const { delivery, attempt, disable } of results) {
      await tx
        .update(webhookDeliveries)
        .set({
          state: attempt.state,
          nextAttemptAt: attempt.nextAttemptAt,
          lastStatus: attempt.status,
          lastLatencyMs: attempt.latencyMs,
          lastError: attempt.error,
        })
        .where(deliveryKey(delivery.eventId, delivery.endpointId));
      if (disable) {
        await tx
          .update(webhookEndpoints)
          .set({ disabledAt: disable.at, disabledReason: disable.reason, updatedAt: disable.at })
          .where(
            and(
              eq(webhookEndpoints.projectId, delivery.projectId),
              eq(webhookEndpoints.id, delivery.endpointId),
            ),
          );
      }
    }
  });
}

export interface DeliveryView {
  readonly delivery: WebhookDelivery;
  readonly type: string;
}

/** The endpoint's deliveries, newest first, at most `limit`, from before the event `before` when given. */
export async function listDeliveries(
  db: Db,
  projectId: string,
  endpointId: string,
  limit: number,
  before?: { readonly seq: number },
): Promise<DeliveryView[]> {
  const rows = await db
    .select({ delivery: webhookDeliveries, type: webhookEvents.type })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(
      and(
        eq(webhookDeliveries.projectId, projectId),
        eq(webhookDeliveries.endpointId, endpointId),
        before === undefined ? undefined : sql`${webhookDeliveries.seq} < ${before.seq}`,
      ),
    )
    .orderBy(desc(webhookDeliveries.seq))
    .limit(limit);
  return rows;
}

/** Makes the delivery due now, its attempts counted and retried from zero; a not_found when the endpoint never had the event. */
export async function redeliver(
  db: Db,
  projectId: string,
  endpointId: string,
  eventId: string,
  now: Date,
  retryForMs: number,
): Promise<DeliveryView> {
  const [row] = await db
    .update(webhookDeliveries)
    .set({
      state: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      retryUntil: new Date(now.getTime() + retryForMs),
    })
    .where(and(eq(webhookDeliveries.projectId, projectId), deliveryKey(eventId, endpointId)))
    .returning();
  if (!row) {
    throw new ConnectrError(
      'not_found',
      `webhook endpoint ${endpointId} has no delivery of event ${eventId}`,
      {
        hint: 'GET /api/v1/webhooks/{id}/deliveries lists its deliveries and their event ids',
      },
    );
  }
  const [event] = await db
    .select({ type: webhookEvents.type })
    .from(webhookEvents)
    .where(eq(webhookEvents.id, eventId));
  return { delivery: row, type: event?.type ?? '' };
}

/** When the oldest event still waiting for a delivery was recorded, across projects; undefined when none waits. */
export async function oldestUndelivered(db: Db): Promise<Date | undefined> {
  // From the pending deliveries (their state's index), not the whole outbox.
  const [row] = await db
    .select({ oldest: min(webhookEvents.createdAt) })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(eq(webhookDeliveries.state, 'pending'));
  return row?.oldest ?? undefined;
}

/**
 * Deletes the events recorded before `cutoff` that no endpoint still waits for, with their
 * deliveries: the outbox keeps what is pending and a history of the rest, not everything.
 * How many it deleted.
 */
export async function purgeEvents(db: Db, cutoff: Date): Promise<number> {
  const rows = await db
    .delete(webhookEvents)
    .where(
      and(
        lte(webhookEvents.createdAt, cutoff),
        sql`not exists (select 1 from ${webhookDeliveries} where ${webhookDeliveries.eventId} = ${webhookEvents.id} and ${webhookDeliveries.state} = 'pending')`,
      ),
    )
    .returning({ id: webhookEvents.id });
  return rows.length;
}
