import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chunksOf, openSource } from '../../../src/core/engine/upload-session/chunker.js';

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

describe('openSource', () => {
  it('reads a file through one buffer, and chunksOf still gives back every byte in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'connectr-chunker-'));
    try {
      // Larger than one read (1 MiB), not a multiple of it or of the chunk size.
      const data = Buffer.from(Array.from({ length: 2.5 * 1024 * 1024 + 7 }, (_, i) => (i * 7) % 253));
      const path = join(dir, 'file');
      writeFileSync(path, data);
      const reads = new Set<ArrayBufferLike>();
      const source = openSource({ kind: 'file', path }, () => process.stdin) as AsyncIterable<Buffer>;
      const tracked = (async function* () {
        for await (const piece of source) {
          reads.add(piece.buffer);
          yield piece;
        }
      })();
      const copies: Buffer[] = [];
      for await (const { chunk } of chunksOf(tracked, 327_680 * 3)) copies.push(Buffer.from(chunk));
      expect(Buffer.concat(copies).equals(data)).toBe(true);
      expect(reads.size).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
