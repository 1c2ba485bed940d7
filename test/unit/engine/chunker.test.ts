import { describe, expect, it } from 'vitest';
import { chunksOf } from '../../../src/core/engine/upload-session/chunker.js';

/** `count` pieces of `piece` bytes, byte i of the whole stream being i % 251. */
function* pieces(count: number, piece: number): Generator<Buffer> {
  for (let p = 0; p < count; p++) {
    yield Buffer.from(Array.from({ length: piece }, (_, i) => (p * piece + i) % 251));
  }
}

describe('chunksOf', () => {
  it('cuts a stream into fixed-size chunks, the last one shorter, marked first and last', async () => {
    const seen: { bytes: number[]; first: boolean; last: boolean }[] = [];
    for await (const { chunk, first, last } of chunksOf(pieces(5, 7), 10)) {
      seen.push({ bytes: [...chunk], first, last });
    }
    expect(seen.map((c) => [c.bytes.length, c.first, c.last])).toEqual([
      [10, true, false],
      [10, false, false],
      [10, false, false],
      [5, false, true],
    ]);
    expect(seen.flatMap((c) => c.bytes)).toEqual(Array.from({ length: 35 }, (_, i) => i % 251));
  });

  it('fills two buffers in turn, never a fresh one per chunk', async () => {
    // A new buffer per chunk left the garbage collector behind: an upload session of 200 MB
    // peaked at ~150 MiB instead of ~105.
    const buffers = new Set<ArrayBufferLike>();
    let chunks = 0;
    for await (const { chunk } of chunksOf(pieces(64, 1000), 8192)) {
      buffers.add(chunk.buffer);
      chunks++;
    }
    expect(chunks).toBe(8);
    expect(buffers.size).toBeLessThanOrEqual(2);
  });

  it('gives one empty last chunk for an empty stream', async () => {
    const seen: [number, boolean, boolean][] = [];
    for await (const { chunk, first, last } of chunksOf(pieces(0, 1), 10))
      seen.push([chunk.length, first, last]);
    expect(seen).toEqual([[0, true, true]]);
  });
});
