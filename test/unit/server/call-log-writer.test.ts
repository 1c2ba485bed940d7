import { describe, expect, it } from 'vitest';
import type { CallRow } from '../../../src/server/call-log/trace.js';
import { CallLogWriter } from '../../../src/server/call-log/writer.js';
import { Metrics } from '../../../src/server/metrics.js';

/**
 * The call log's batch writer while the database is away: rows wait in a bounded buffer (the
 * oldest dropped and counted in /metrics past the bound, never more memory), are written in
 * order once it is back, in batches of at most `batchRows`, and what cannot be written at
 * shutdown is counted too.
 */

const row = (n: number): CallRow => ({
  at: new Date(n),
  projectId: 'proj_a',
  connectionId: 'conn_a',
  connector: 'x',
  connectorVersion: null,
  kind: 'execute',
  endpoint: `e${n}`,
  method: null,
  path: null,
  status: 200,
  durationMs: 1,
  bytesSent: 0,
  bytesReceived: 0,
  retries: 0,
  errorCode: null,
  requestId: `r${n}`,
});

function writer(options: { maxRows: number; batchRows: number }) {
  const written: CallRow[][] = [];
  const errors: unknown[] = [];
  const metrics = new Metrics();
  let down = true;
  const log = new CallLogWriter({
    flushMs: 3_600_000,
    ...options,
    write: (rows) => {
      if (down) return Promise.reject(new Error('database away'));
      written.push([...rows]);
      return Promise.resolve();
    },
    onDropped: (count) => {
      metrics.callLogDropped(count);
    },
    onError: (error) => errors.push(error),
  });
  return {
    log,
    written,
    errors,
    metrics,
    up: () => {
      down = false;
    },
  };
}

const dropped = (metrics: Metrics): number =>
  Number(/^connectr_call_log_dropped_total (\d+)$/m.exec(metrics.render())?.[1] ?? 0);

describe('the call log writer', () => {
  it('holds at most maxRows while writes fail, dropping the oldest and counting them, then writes the rest in order', async () => {
    const w = writer({ maxRows: 10, batchRows: 4 });
    for (let n = 0; n < 25; n++) {
      w.log.record(row(n));
      await Promise.resolve();
    }
    await w.log.flush();
    expect(w.log.pending).toBe(10);
    expect(dropped(w.metrics)).toBe(15);
    // Reported once for the whole outage, not once per flush.
    expect(w.errors).toHaveLength(1);
    w.up();
    await w.log.flush();
    expect(w.log.pending).toBe(0);
    expect(w.written.every((batch) => batch.length <= 4)).toBe(true);
    expect(w.written.flat().map((r) => r.requestId)).toEqual(
      Array.from({ length: 10 }, (_, i) => `r${i + 15}`),
    );
  });

  it('writes what it holds at close, and counts what it could not', async () => {
    const w = writer({ maxRows: 100, batchRows: 50 });
    w.log.record(row(1));
    await w.log.close();
    expect(dropped(w.metrics)).toBe(1);
    const v = writer({ maxRows: 100, batchRows: 50 });
    v.up();
    v.log.record(row(2));
    v.log.record(row(3));
    await v.log.close();
    expect(v.written.flat().map((r) => r.requestId)).toEqual(['r2', 'r3']);
    v.log.record(row(4));
    expect(dropped(v.metrics)).toBe(1);
  });
});
