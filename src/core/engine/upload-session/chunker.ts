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
 * chunk ahead. Bytes are copied once into a chunk-sized buffer; at most two chunks are held.
 */
export async function* chunksOf(
  input: AsyncIterable<Buffer> | Iterable<Buffer>,
  size: number,
): AsyncGenerator<{ chunk: Buffer; first: boolean; last: boolean }> {
  let pending: Buffer | undefined;
  let first = true;
  let current = Buffer.allocUnsafe(size);
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
        pending = current;
        current = Buffer.allocUnsafe(size);
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
