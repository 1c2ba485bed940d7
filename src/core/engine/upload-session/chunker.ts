import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { RawBody } from '../params.js';

/** A raw body read in fixed-size chunks, so memory stays constant whatever its size. */

export function openSource(source: RawBody, stdin: Readable): AsyncIterable<Buffer> | Iterable<Buffer> {
  switch (source.kind) {
    case 'file':
      return createReadStream(source.path, { highWaterMark: 1024 * 1024 });
    case 'stdin':
      return stdin as AsyncIterable<Buffer>;
    case 'text':
      return [Buffer.from(source.text)];
    case 'bytes':
      return [source.data];
  }
}

/**
 * Fixed-size chunks of a stream (the last one shorter), each marked first/last by looking one
 * chunk ahead. Bytes are copied once into a chunk-sized buffer; two buffers are used in turn
 * (the one being filled, the one held back to look ahead), never a fresh one per chunk: a new
 * buffer each time left the garbage collector behind, and an upload session's memory grew with
 * the chunks. So a chunk is valid only until the consumer asks for the next one: it must be
 * sent (or copied) by then.
 */
export async function* chunksOf(
  input: AsyncIterable<Buffer> | Iterable<Buffer>,
  size: number,
): AsyncGenerator<{ chunk: Buffer; first: boolean; last: boolean }> {
  let pending: Buffer | undefined;
  let first = true;
  let current: Buffer = Buffer.allocUnsafe(size);
  let filled = 0;
  for await (const data of input) {
    let offset = 0;
    while (offset < data.length) {
      const n = Math.min(size - filled, data.length - offset);
      data.copy(current, filled, offset, offset + n);
      filled += n;
      offset += n;
      if (filled === size) {
        if (pending) {
          yield { chunk: pending, first, last: false };
          first = false;
        }
        // The chunk just yielded has been sent: its buffer is filled next.
        const free = pending ?? Buffer.allocUnsafe(size);
        pending = current;
        current = free;
        filled = 0;
      }
    }
  }
  if (filled > 0 || !pending) {
    if (pending) {
      yield { chunk: pending, first, last: false };
      first = false;
    }
    pending = current.subarray(0, filled);
  }
  yield { chunk: pending, first, last: true };
}
