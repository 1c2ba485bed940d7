import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ConnectrError, messageOf } from '../errors.js';
import type { RawBody } from './params.js';
import type { RequestBody } from './request.js';

/**
 * Request bodies as they go on the wire. Files are streamed (constant memory) and can be
 * re-opened for a retry; standard input can be read only once, so a request whose body came
 * from stdin is never retried after it started.
 */
export interface BodyPayload {
  readonly data: string | Buffer | Readable | undefined;
  /** Bytes, when known in advance (sent as Content-Length). */
  readonly length: number | undefined;
}

export async function openBody(body: RequestBody, stdin: () => Readable): Promise<BodyPayload> {
  switch (body.kind) {
    case 'none':
      return { data: undefined, length: undefined };
    case 'json':
    case 'form':
      return { data: body.text, length: Buffer.byteLength(body.text) };
    case 'raw':
      return openRaw(body.source, stdin);
  }
}

async function openRaw(source: RawBody, stdin: () => Readable): Promise<BodyPayload> {
  switch (source.kind) {
    case 'text':
      return { data: source.text, length: Buffer.byteLength(source.text) };
    case 'bytes':
      return { data: source.data, length: source.data.length };
    case 'stdin':
      return { data: stdin(), length: undefined };
    case 'file': {
      const size = await sizeOf(source);
      return { data: createReadStream(source.path), length: size };
    }
  }
}

/** Whether the same body can be sent again (for retries and redirects). */
export function replayable(body: RequestBody): boolean {
  return !(body.kind === 'raw' && body.source.kind === 'stdin');
}

/** The size of a raw body, or undefined for standard input. */
export async function sizeOf(source: RawBody): Promise<number | undefined> {
  switch (source.kind) {
    case 'text':
      return Buffer.byteLength(source.text);
    case 'bytes':
      return source.data.length;
    case 'stdin':
      return undefined;
    case 'file':
      try {
        const info = await stat(source.path);
        if (!info.isFile()) throw new Error('not a regular file');
        return info.size;
      } catch (error) {
        throw new ConnectrError('invalid_input', `cannot read ${source.path}: ${messageOf(error)}`, {
          hint: 'give the path of an existing file, or - to read standard input',
        });
      }
  }
}
