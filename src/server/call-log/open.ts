import type { ServerDeps } from '../contracts.js';
import type { Metrics } from '../metrics.js';
import { exclusiveRound, startRounds } from '../rounds.js';
import { settingsOf } from '../settings.js';
import { insertCallLogs, pruneCallLogs } from '../store/call-logs.js';
import { guard } from '../store/open.js';
import { openSpanSink, otlpSettings } from '../telemetry/otlp.js';
import type { App } from '../types.js';
import { CallLog } from './trace.js';
import type { CallSink } from './trace.js';
import { CallLogWriter } from './writer.js';

/**
 * The daemon's call log as the app starts it, from its settings: the batch writer of the
 * call_logs table (unless CONNECTR_CALL_LOG=off or there is no database), its retention sweep
 * (every instance's rounds, one at a time on a shared database), and the span exporter when
 * OTLP is configured. Everything it started is flushed and stopped when the app closes, after
 * the requests in flight have ended.
 */

export interface CallLogOptions {
  /** How often rows are written (ms); default CONNECTR_CALL_LOG_FLUSH_MS. */
  readonly flushMs?: number;
  /** How often old rows are deleted (ms; 0: never); default 10 minutes. */
  readonly pruneEveryMs?: number;
}

/** Rows in one INSERT (17 columns: far below PostgreSQL's 65535 parameters). */
export const CALL_LOG_BATCH_ROWS = 500;
export const CALL_LOG_PRUNE_EVERY_MS = 10 * 60_000;
const PRUNE_LOCK_KEY = 0x6c6f6773; // "logs"

export async function openCallLog(
  app: App,
  deps: ServerDeps,
  metrics: Metrics,
  options: CallLogOptions = {},
): Promise<CallLog> {
  const settings = settingsOf(deps);
  const now = deps.now ?? Date.now;
  const sinks: CallSink[] = [];
  const stops: (() => Promise<void>)[] = [];
  const { data } = deps;
  if (data && settings.CONNECTR_CALL_LOG === 'on') {
    sinks.push(
      new CallLogWriter({
        flushMs: options.flushMs ?? settings.CONNECTR_CALL_LOG_FLUSH_MS,
        maxRows: settings.CONNECTR_CALL_LOG_BUFFER,
        batchRows: CALL_LOG_BATCH_ROWS,
        write: (rows) => guard(data.database, () => insertCallLogs(data.db, rows)),
        onDropped: (count) => {
          metrics.callLogDropped(count);
        },
        onError: (error) => {
          app.log.warn({ err: error }, 'writing the call log failed; its rows wait for the next flush');
        },
      }),
    );
    const retentionMs = settings.CONNECTR_CALL_LOG_RETENTION_HOURS * 3_600_000;
    stops.push(
      startRounds(
        options.pruneEveryMs ?? CALL_LOG_PRUNE_EVERY_MS,
        () =>
          exclusiveRound(data, PRUNE_LOCK_KEY, async () => {
            await pruneCallLogs(data.db, new Date(now() - retentionMs));
          }),
        (error) => {
          app.log.warn({ err: error }, 'pruning the call log failed; trying again at the next tick');
        },
      ),
    );
  }
  const otlp = otlpSettings(deps.env ?? {});
  if (otlp)
    sinks.push(
      await openSpanSink(otlp, (error) => {
        app.log.warn({ err: error }, 'sending spans to the OpenTelemetry collector failed');
      }),
    );
  const calls = new CallLog(sinks, now);
  if (calls.on) {
    // A route's thrown error gives its call's error code.
    app.addHook('onError', (request, _reply, error, done) => {
      calls.failed(request, error);
      done();
    });
  }
  app.addHook('onClose', async () => {
    await Promise.all(stops.map((stop) => stop()));
    await calls.close();
  });
  return calls;
}
