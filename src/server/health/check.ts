import { REFRESH_MARGIN_MS } from '../../core/auth/refresh-protocol.js';
import { callDeps } from '../../core/calls/deps.js';
import { CHECK_FAILED, checkHealth, healthFailure } from '../../core/calls/health.js';
import type { HealthOutcome } from '../../core/calls/health.js';
import type { Connector } from '../../core/connector/model.js';
import { ConnectrError } from '../../core/errors.js';
import { databaseCredentials, refreshAhead } from '../credentials/source.js';
import type { DatabaseCredentialDeps } from '../credentials/source.js';
import { changeConnection } from '../credentials/target.js';
import { connectorMissing, connectorOf } from '../services/connections.js';
import { recordCheck } from '../store/connection-health.js';
import type { Connection } from '../store/connections.js';
import { requireConnection } from '../store/connections.js';
import { guard } from '../store/open.js';
import type { RouteContext } from '../types.js';
import { taskDeps } from '../rounds.js';
import type { TaskDeps } from '../rounds.js';
import { recordConnectionEvent } from '../webhooks/events.js';

/**
 * One connection's health check, for the daemon's health task and POST /connections/{id}/check:
 * its OAuth token refreshed ahead of need through the one refresh algorithm (source.ts), then the
 * connector's health endpoint called through the call service execute runs (core/calls/health.ts).
 * The outcome is written with its event in one transaction: an authentication refusal marks an
 * active connection needs_reauth (health_check_failed), a pass restores one a failed check
 * marked, anything else (network, 5xx) is only recorded in last_error.
 */

export const DAY_MS = 24 * 60 * 60_000;
/** A connection used within this long has its token refreshed before it expires. */
export const RECENT_USE_MS = 30 * DAY_MS;

export interface HealthDeps extends TaskDeps {
  /** How often the task runs: a token is refreshed when it would expire before two more rounds. */
  readonly everyMs: number;
}

/** The health checks of the app behind `context`. */
export function healthDeps(context: RouteContext, everyMs: number): HealthDeps {
  return { ...taskDeps(context), everyMs };
}

/** How far ahead of its expiry a recently used connection's token is refreshed. */
export function refreshAheadMs(everyMs: number): number {
  return Math.max(2 * everyMs, 5 * 60_000) + REFRESH_MARGIN_MS;
}

/** The statuses a check can change; a pending, revoked or refused connection waits for a sign-in. */
function checkable(connection: Connection): boolean {
  return (
    connection.status === 'active' ||
    (connection.status === 'needs_reauth' && connection.lastErrorCode === CHECK_FAILED)
  );
}

/**
 * Checks `connection` now; `probe`: call the health endpoint too (the task does for connections
 * unused for a day, POST /check always). The connection as it is after.
 */
export async function checkConnection(
  deps: HealthDeps,
  connection: Connection,
  probe: boolean,
): Promise<Connection> {
  if (!checkable(connection)) return connection;
  const now = deps.now();
  const registry = await deps.registry();
  const connector = connectorOf(registry, connection);
  if (!connector) {
    return record(deps, connection, now, {
      kind: 'unknown',
      code: 'check_failed',
      message: connectorMissing(registry, connection).message,
    });
  }
  const credentials: DatabaseCredentialDeps = {
    data: deps.data,
    env: deps.env,
    now: deps.now,
    check: true,
    ...(deps.onRefresh ? { onRefresh: deps.onRefresh } : {}),
  };
  let outcome: HealthOutcome;
  try {
    const used = connection.lastUsedAt !== null && now - connection.lastUsedAt.getTime() < RECENT_USE_MS;
    await refreshAhead(credentials, connection, connector, {
      expiringBefore: used ? now + refreshAheadMs(deps.everyMs) : 0,
      obtainedBefore: now - DAY_MS,
    });
    // A connection a failed check marked is restored only by a check that passes.
    outcome =
      probe || connection.status === 'needs_reauth'
        ? await runProbe(deps, credentials, connection, connector)
        : { kind: 'ok' };
  } catch (error) {
    outcome = healthFailure(connector, error);
  }
  return record(deps, connection, now, outcome);
}

function runProbe(
  deps: HealthDeps,
  credentials: DatabaseCredentialDeps,
  connection: Connection,
  connector: Connector,
): Promise<HealthOutcome> {
  const source = databaseCredentials(credentials, connection, connector);
  return checkHealth(
    connector,
    callDeps(source, {
      env: deps.env,
      dispatcher: deps.dispatcher,
      ...(deps.signal ? { signal: deps.signal } : {}),
    }),
    deps.env,
  );
}

/** POST /api/v1/connections/{id}/check: the project's connection checked now, refreshed and probed. */
export async function checkConnectionNow(
  deps: HealthDeps,
  projectId: string,
  id: string,
): Promise<Connection> {
  const connection = await guard(deps.data.database, () => requireConnection(deps.data.db, projectId, id));
  return checkConnection(deps, connection, true);
}

/** The outcome written, with its event, in one transaction; the row after. */
function record(
  deps: HealthDeps,
  connection: Connection,
  now: number,
  outcome: HealthOutcome,
): Promise<Connection> {
  const { data } = deps;
  const at = new Date(now);
  return changeConnection(data, connection.projectId, connection.id, () =>
    guard(data.database, () =>
      data.db.transaction(async (tx) => {
        let row: Connection | undefined;
        if (outcome.kind === 'ok') {
          const passed = { lastCheckedAt: at, lastError: null, lastErrorCode: null };
          row = await recordCheck(tx, connection, { ...passed, status: 'active' }, ['needs_reauth']);
          if (row) await recordConnectionEvent(tx, { type: 'connection.restored', connection: row }, at);
          else row = await recordCheck(tx, connection, passed, ['active']);
        } else {
          const failed = { lastCheckedAt: at, lastError: outcome.message, lastErrorCode: outcome.code };
          if (outcome.kind === 'signed_out' && outcome.code === CHECK_FAILED) {
            row = await recordCheck(tx, connection, { ...failed, status: 'needs_reauth' }, ['active']);
            if (row) {
              const reason = { code: CHECK_FAILED, message: outcome.message };
              await recordConnectionEvent(
                tx,
                { type: 'connection.needs_reauth', connection: row, reason },
                at,
              );
            }
          } else if (outcome.kind === 'unknown') {
            // Says nothing of the credential: an active connection shows it; a needs_reauth one
            // keeps why it needs a sign-in.
            row = await recordCheck(tx, connection, failed, ['active']);
          }
        }
        // A refused refresh was recorded by the refresh itself, with its event; else the words stay.
        row ??= await recordCheck(tx, connection, { lastCheckedAt: at });
        if (!row) throw new ConnectrError('not_found', `no connection ${connection.id}`);
        return row;
      }),
    ),
  );
}
