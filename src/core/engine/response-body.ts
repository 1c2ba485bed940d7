import { PassThrough, Readable } from 'node:stream';
import { ConnectrError } from '../errors.js';
import { describeNetworkError } from '../http/request.js';

/**
 * A response body as the engine hands it out: read once, as a stream, as bounded text, or as a
 * bounded head followed by the rest of the stream. A server that stalls, resets or closes the
 * connection mid-body, or sends far more than expected, ends the read with a ConnectrError
 * (network, time-out or upstream), never with a bare socket error.
 */
export interface ResponseBody {
  readonly stream: Readable;
  /** The whole body as text; an `upstream` error when it is larger than `limit` bytes. */
  text(limit?: number): Promise<string>;
  /**
   * Up to `limit` bytes, without reading further: `complete` when that was the whole body,
   * else `rest` streams what follows (the caller must read or dump it).
   */
  head(limit: number): Promise<BodyHead>;
  dump(): Promise<void>;
}

export interface BodyHead {
  readonly bytes: Buffer;
  readonly complete: boolean;
  readonly rest: Readable;
}

/** The most connectr holds in memory to parse a JSON or text body (16 MiB). */
export const TEXT_LIMIT = 16 * 1024 * 1024;

/** What the engine knows about the request a body belongs to, for messages. */
export interface BodySource {
  /** e.g. `GET graph.microsoft.com/v1.0/me/drive` */
  readonly label: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

/** Wraps a body stream from the HTTP client so every failure becomes a ConnectrError. */
export function responseBody(source: Readable, from: BodySource): ResponseBody {
  const stream = new PassThrough();
  source.on('error', (error) => stream.destroy(bodyFault(error, from)));
  // A fault may come before anyone reads (while -o opens its file): it is kept in
  // `stream.errored` and reported to the reader that comes, never an unhandled 'error' event.
  stream.on('error', () => undefined);
  // A reader that gives up (destroy) releases the connection at once.
  stream.on('close', () => {
    if (!source.readableEnded) source.destroy();
  });
  source.pipe(stream);
  return readerOf(stream, from.label);
}

/** A body already read, offered again to whoever reads the response next. */
export function textBody(text: string | Buffer): ResponseBody {
  return readerOf(Readable.from([typeof text === 'string' ? Buffer.from(text) : text]), 'the response');
}

/** A body whose head was read: the head, then the rest of the stream, for the next reader. */
export function rejoinedBody(head: BodyHead, from: BodySource): ResponseBody {
  return responseBody(
    Readable.from(
      (async function* () {
        yield head.bytes;
        yield* head.rest as AsyncIterable<Buffer>;
      })(),
    ),
    from,
  );
}

function readerOf(stream: Readable, label: string): ResponseBody {
  const head = (limit: number): Promise<BodyHead> =>
    new Promise((resolve, reject) => {
      if (stream.errored) {
        reject(stream.errored);
        return;
      }
      if (stream.readableEnded || stream.destroyed) {
        reject(new ConnectrError('internal', `${label}: the response body was already read`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (complete: boolean): void => {
        stream.off('data', onData);
        stream.off('end', onEnd);
        stream.off('error', onError);
        resolve({ bytes: Buffer.concat(chunks), complete, rest: stream });
      };
      const onData = (chunk: Buffer): void => {
        chunks.push(chunk);
        size += chunk.length;
        if (size > limit) {
          stream.pause();
          done(false);
        }
      };
      const onEnd = (): void => {
        done(true);
      };
      const onError = (error: Error): void => {
        stream.off('data', onData);
        stream.off('end', onEnd);
        reject(error);
      };
      stream.on('data', onData);
      stream.once('end', onEnd);
      stream.once('error', onError);
    });
  return {
    stream,
    head,
    async text(limit = TEXT_LIMIT) {
      const { bytes, complete } = await head(limit);
      if (!complete) {
        stream.destroy();
        throw new ConnectrError(
          'upstream',
          `${label} answered more than ${formatBytes(limit)}, more than connectr reads into memory`,
          { hint: 'save a large response with -o FILE, or ask for less (a smaller page size, fewer fields)' },
        );
      }
      return bytes.toString('utf8');
    },
    async dump() {
      stream.resume();
      await new Promise<void>((resolve) => {
        if (stream.readableEnded || stream.destroyed) resolve();
        stream.once('end', resolve);
        stream.once('close', resolve);
        stream.once('error', () => {
          resolve();
        });
      });
    },
  };
}

/** A failure while reading a body, in the words and error codes of connectr. */
export function bodyFault(error: Error, from: BodySource): Error {
  if (error instanceof ConnectrError) return error;
  if (from.signal?.aborted) {
    const reason: unknown = from.signal.reason;
    return reason instanceof Error ? reason : new ConnectrError('cancelled', 'interrupted');
  }
  if (isTimeout(error)) return timeoutError(`${from.label}: the response stalled`, from.timeoutMs, error);
  return new ConnectrError(
    'unavailable',
    `${from.label}: the response broke off: ${describeNetworkError(error)}`,
    { hint: 'the connection failed while the answer arrived; try again', cause: error },
  );
}

/** Timeouts of the HTTP client, and connectr's own limit on waiting for an answer. */
export function isTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'CONNECTR_HEADERS_TIMEOUT' ||
    code === 'CONNECTR_BODY_TIMEOUT' ||
    code === 'CONNECTR_ATTEMPT_TIMEOUT'
  );
}

export function timeoutError(what: string, timeoutMs: number, cause?: unknown): ConnectrError {
  return new ConnectrError('timeout', `${what}: nothing arrived for ${formatMs(timeoutMs)}`, {
    hint: `wait longer with --timeout (e.g. --timeout ${formatMs(Math.max(timeoutMs * 2, 120_000))}), or try again later`,
    cause,
  });
}

function formatMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
