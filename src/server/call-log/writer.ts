import type { CallRow, CallSink } from './trace.js';

/**
 * The call log's writes, off the request path: `record` appends to an in-memory buffer (no
 * await, no timer per call); one timer for the whole writer flushes it every `flushMs`, and a
 * full batch is flushed at once, each flush one multi-row INSERT. The buffer is bounded: while
 * the database is away, rows wait (and are tried again at the next flush) up to `maxRows`,
 * beyond which the oldest are dropped and counted (`onDropped`, in /metrics), so memory never
 * grows without bound. `close` flushes what is left (the app's shutdown).
 */

export interface WriterOptions {
  /** How often the buffer is written (ms). */
  readonly flushMs: number;
  /** Most rows held waiting; past it the oldest go. */
  readonly maxRows: number;
  /** Rows in one INSERT; a full batch is written without waiting for the timer. */
  readonly batchRows: number;
  /** Writes rows in one statement. */
  readonly write: (rows: readonly CallRow[]) => Promise<void>;
  /** Rows dropped because the buffer was full (or the last flush at shutdown failed). */
  readonly onDropped: (count: number) => void;
  /** A flush failed (reported once until one succeeds again). */
  readonly onError: (error: unknown) => void;
}

export class CallLogWriter implements CallSink {
  private buffer: CallRow[] = [];
  private flushing: Promise<void> | undefined;
  private failing = false;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: WriterOptions) {
    this.timer = setInterval(() => {
      void this.flush();
    }, options.flushMs);
    this.timer.unref();
  }

  record(row: CallRow): void {
    if (this.closed) {
      this.options.onDropped(1);
      return;
    }
    if (this.buffer.length >= this.options.maxRows) {
      this.buffer.shift();
      this.options.onDropped(1);
    }
    this.buffer.push(row);
    if (this.buffer.length >= this.options.batchRows && !this.flushing) void this.flush();
  }

  /** Rows waiting to be written. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Writes what the buffer holds, a batch at a time; one flush at a time. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.options.batchRows);
      try {
        await this.options.write(batch);
        this.failing = false;
      } catch (error) {
        // Back at the front, in order, for the next flush; the bound still holds.
        this.buffer = [...batch, ...this.buffer];
        const over = this.buffer.length - this.options.maxRows;
        if (over > 0) {
          this.buffer.splice(0, over);
          this.options.onDropped(over);
        }
        if (!this.failing) this.options.onError(error);
        this.failing = true;
        return;
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush();
    this.closed = true;
    if (this.buffer.length > 0) {
      this.options.onDropped(this.buffer.length);
      this.buffer = [];
    }
  }
}
