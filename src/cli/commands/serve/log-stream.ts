import type { Writable } from 'node:stream';
import pino from 'pino';
import type { LogDestination } from '../../../server/plugins/logging.js';

/**
 * Where `connectr serve` writes its log. On the process's own stderr, lines are written
 * asynchronously and batched (pino's sonic-boom destination): writes to a pipe are synchronous
 * in Node, so a slow reader of stderr (a log shipper, a full pipe) would otherwise stall every
 * request, and a line per request cost more than the request. What is buffered is bounded
 * (beyond it lines are dropped rather than memory exhausted) and flushed when the server stops.
 * Any other stream (tests) is written as it is.
 */

/** The most log text held while stderr is not keeping up. */
const MAX_BUFFERED = 16 * 1024 * 1024;

export interface ServerLogStream {
  readonly stream: LogDestination;
  /** Writes out what is buffered; called as the server stops. */
  flush(): void;
}

export function serverLogStream(stderr: Writable): ServerLogStream {
  if (stderr !== process.stderr) return { stream: stderr, flush: () => undefined };
  const destination = pino.destination({ dest: 2, sync: false, maxLength: MAX_BUFFERED });
  return {
    stream: destination,
    flush: () => {
      try {
        destination.flushSync();
      } catch {
        // stderr gone or still full: nothing more can be done for those lines.
      }
    },
  };
}
