import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { RawBody } from '../params.js';

/**
 * A raw body read in fixed-size chunks, so memory stays constant whatever its size. Pieces are
 * valid only until the next one is asked for: chunksOf copies each at once.
 */

export function openSource(source: RawBody, stdin: () => Readable): AsyncIterable<Buffer> | Iterable<Buffer> {
  switch (source.kind) {
    case 'file':
      return readThroughOneBuffer(source.path, 1024 * 1024);
    case 'stdin':
      return stdin() as AsyncIterable<Buffer>;
    case 'text':
      return [Buffer.from(source.text)];
    case 'bytes':
      return [source.data];
  }
}

/**
 * A file read into one buffer, over and over. A read stream allocates a fresh buffer for every
 * read; those wait for the garbage collector, and an upload session's peak memory grew with the
 * file until V8's external-memory limit forced a collection (+13 MiB from 50 to 200 MiB).
 */
async function* readThroughOneBuffer(path: string, size: number): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(size);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, size, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
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
