import type { Writable } from 'node:stream';
import pino from 'pino';
import type { LogDestination } from '../../../server/plugins/logging.js';
import { escapeControls, escapeLine } from '../../escape.js';

/**
 * Where `connectr serve` writes its log, and in which form: JSON lines (pino's own, for log
 * shippers and `jq`), or readable lines for a person at a terminal (pino-pretty), chosen by
 * --log-format (auto: readable when stderr is a terminal). Both are made from the same
 * redacted record, so the readable form holds no more than the JSON one.
 *
 * On the process's own stderr, lines are written asynchronously and batched (pino's
 * sonic-boom destination): writes to a pipe are synchronous in Node, so a slow reader of
 * stderr (a log shipper, a full pipe) would otherwise stall every request, and a line per
 * request cost more than the request. A line waits at most LOG_FLUSH_EVERY_MS for others to
 * make a batch. What is buffered is bounded (beyond it lines are dropped rather than memory
 * exhausted) and flushed when the server stops. Any other stream (tests) is written as it is.
 */

/** The most log text held while stderr is not keeping up. */
const MAX_BUFFERED = 16 * 1024 * 1024;
/**
 * Log text gathered before it is written: under load a write per line or two (a system call
 * and a thread-pool round trip each) cost the server more than making the lines.
 */
export const LOG_BATCH_BYTES = 4096;
/** The longest a line waits for others before it is written anyway (ms). */
export const LOG_FLUSH_EVERY_MS = 100;

export type LogFormat = 'json' | 'pretty';

export interface ServerLogStream {
  readonly stream: LogDestination;
  /** Writes out what is buffered; called as the server stops. */
  flush(): void;
}

export interface LogStreamOptions {
  readonly format: LogFormat;
  /** Colours in the readable form. */
  readonly color: boolean;
}

export async function serverLogStream(stderr: Writable, options: LogStreamOptions): Promise<ServerLogStream> {
  const out = toStderr(stderr);
  if (options.format === 'json') return out;
  const { prettyFactory } = (await import('pino-pretty')).default;
  const prettify = prettyFactory({
    colorize: options.color,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,reqId,req,res,responseTime',
    // One line per request: what the JSON form says in its fields.
    messageFormat:
      '{if reqId}[{reqId}] {end}{msg}{if req.method} {req.method} {req.url}{end}{if res.statusCode} {res.statusCode}{end}{if responseTime} ({responseTime} ms){end}',
    singleLine: false,
  });
  return {
    stream: {
      write(line: string) {
        return out.stream.write(prettify(printable(line)));
      },
    },
    flush: () => {
      out.flush();
    },
  };
}

function toStderr(stderr: Writable): ServerLogStream {
  if (stderr !== process.stderr) return { stream: stderr, flush: () => undefined };
  return batchedLog(2);
}

/** Lines to a file descriptor, written in batches of LOG_BATCH_BYTES or every LOG_FLUSH_EVERY_MS. */
export function batchedLog(fd: number): ServerLogStream {
  const destination = pino.destination({
    dest: fd,
    sync: false,
    maxLength: MAX_BUFFERED,
    minLength: LOG_BATCH_BYTES,
    periodicFlush: LOG_FLUSH_EVERY_MS,
  });
  const flush = (): void => {
    try {
      destination.flushSync();
    } catch {
      // stderr gone or still full: nothing more can be done for those lines.
    }
  };
  // A second Ctrl-C ends the process at once: the lines of the last moments still go out.
  process.once('exit', flush);
  return { stream: destination, flush };
}

/**
 * The record with every string made safe for a terminal: a URL, an upstream's error message
 * may hold escape sequences or newlines that would forge a line. A stack keeps its newlines.
 */
function printable(line: string): unknown {
  let record: unknown;
  try {
    record = clean(JSON.parse(line), '');
  } catch {
    return escapeLine(line);
  }
  if (typeof record === 'object' && record !== null && 'responseTime' in record) {
    const ms = record.responseTime;
    if (typeof ms === 'number') record.responseTime = Math.round(ms * 10) / 10;
  }
  return record;
}

function clean(value: unknown, key: string, depth = 0): unknown {
  if (typeof value === 'string') return key === 'stack' ? escapeControls(value) : escapeLine(value);
  if (typeof value !== 'object' || value === null || depth > 8) return value;
  if (Array.isArray(value)) return value.map((item) => clean(item, '', depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(value)) copy[escapeLine(name)] = clean(item, name, depth + 1);
  return copy;
}
