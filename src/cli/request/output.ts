import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { pipeline } from 'node:stream/promises';
import { STATUS_CODES } from 'node:http';
import type { Endpoint } from '../../core/connector/model.js';
import { ConnectrError, isConnectrError, messageOf } from '../../core/errors.js';
import { errnoOf, openOutput, outputTarget } from '../../core/fs/files.js';
import type { OutputFile, OutputTarget } from '../../core/fs/files.js';
import { header, headerResult, responseKind } from '../../core/engine/response.js';
import type { HttpResponse } from '../../core/engine/send.js';
import type { CliContext } from '../context.js';
import { escapeControls, escapeJson } from '../escape.js';
import { write } from '../io.js';
import { progressBar } from '../progress.js';

/** The largest JSON or text body read whole to be formatted; larger ones are streamed as is. */
export const PRINT_LIMIT = 8 * 1024 * 1024;

export interface PrintOptions {
  readonly raw: boolean;
  readonly include: boolean;
  readonly output?: string | undefined;
}

/**
 * Puts a successful response where it belongs: JSON indented on a terminal and compact in a
 * pipe, text as text, bytes streamed to -o FILE or a pipe (never onto a terminal), the result
 * an API carries in a header (Dropbox-API-Result) next to them.
 */
export async function printResponse(
  ctx: CliContext,
  endpoint: Endpoint,
  response: HttpResponse,
  options: PrintOptions,
): Promise<void> {
  const { io, out } = ctx;
  const kind = responseKind(endpoint, response);
  const result = headerResult(endpoint, response);
  if (options.include) {
    if (out.json && !options.output && kind !== 'binary') {
      const text = await response.body.text();
      out.printJson({ status: response.status, headers: response.headers, body: parseOr(text) });
      return;
    }
    write(io.stdout, escapeControls(statusBlock(response)));
  }
  if (options.output === '-') {
    // Asked for on stdout: the bytes as received, whatever the kind (as curl -o - does).
    if (result !== undefined)
      write(io.stderr, `${endpoint.response?.result_header ?? 'result'}: ${JSON.stringify(result)}`);
    await saveTo(ctx, response, options.output);
    return;
  }
  if (options.output) {
    await saveTo(ctx, response, options.output);
    if (result !== undefined) out.printJson(result);
    else if (!out.json) out.info(`Saved to ${options.output}.`);
    return;
  }
  switch (kind) {
    case 'binary': {
      if (io.stdoutIsTTY) {
        await response.body.dump();
        throw new ConnectrError(
          'usage',
          `the response is a file (${header(response, 'content-type') ?? 'binary'}), not shown on a terminal`,
          {
            hint: 'save it with -o FILE, or pipe it: ... > file',
          },
        );
      }
      if (result !== undefined)
        write(
          io.stderr,
          `${endpoint.response?.result_header ?? 'result'}: ${escapeJson(JSON.stringify(result))}`,
        );
      await pipeline(response.body.stream, counter(ctx, response, 'Downloading'), io.stdout, { end: false });
      return;
    }
    case 'json':
    case 'text': {
      // Up to PRINT_LIMIT is read and (JSON) formatted; a larger body is streamed as it comes,
      // unformatted, so its size never decides how much memory connectr takes.
      // Byte-exact to a pipe or with --raw; on a terminal, control characters are escaped.
      const head = await response.body.head(PRINT_LIMIT);
      const escaping = io.stdoutIsTTY && !options.raw;
      if (!head.complete) {
        const whole = Readable.from(chain(head.bytes, head.rest));
        await pipeline(escaping ? whole.pipe(escapedText()) : whole, io.stdout, { end: false });
        return;
      }
      const text = head.bytes.toString('utf8');
      if (kind === 'json' && !options.raw) out.printJson(parseOr(text));
      else io.stdout.write(escaping ? escapeControls(text) : text);
      return;
    }
    case 'empty': {
      await response.body.dump();
      const location = header(response, 'location');
      if (result !== undefined) out.printJson(result);
      else if (location || out.json)
        out.printJson({ status: response.status, ...(location ? { location } : {}) });
      else out.info(out.style.dim(`(${response.status} ${STATUS_CODES[response.status] ?? ''}, no content)`));
      return;
    }
  }
}

/**
 * Fails before anything is sent when -o names a directory or a place that cannot be written.
 * `-o -` is stdout.
 */
export async function checkOutputPath(path: string): Promise<void> {
  if (path === '-') return;
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) {
    throw new ConnectrError('usage', `-o ${path} is a directory`, {
      hint: `name the file: -o ${join(path, 'FILE')}`,
    });
  }
  let target: OutputTarget;
  try {
    target = await outputTarget(path);
  } catch (error) {
    throw cannotWrite(path, error);
  }
  // A device or FIFO is written through; access() checks it without opening it (opening a FIFO
  // would wait for its reader here).
  const folder = target.kind === 'through' ? target.path : dirname(target.path);
  try {
    // Creating the temporary file needs a folder this user may write into.
    await access(folder, constants.W_OK);
    if (target.kind === 'replace' && !(await stat(folder)).isDirectory()) throw errnoError('ENOTDIR');
  } catch (error) {
    throw cannotWrite(path, error, folder);
  }
}

function errnoError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

/**
 * Writes the body to `path`: through it when it is stdout (`-`), a device or a FIFO; otherwise
 * to an exclusive temporary file next to it, renamed into place only when complete.
 */
async function saveTo(ctx: CliContext, response: HttpResponse, path: string): Promise<void> {
  if (path === '-') {
    await pipeline(response.body.stream, counter(ctx, response, 'Downloading'), ctx.io.stdout, {
      end: false,
    });
    return;
  }
  let file: OutputFile;
  try {
    file = await openOutput(await outputTarget(path));
  } catch (error) {
    await response.body.dump().catch(() => undefined);
    throw cannotWrite(path, error);
  }
  try {
    await pipeline(response.body.stream, counter(ctx, response, 'Downloading'), file.stream, {
      signal: ctx.signal,
    });
    await file.commit();
  } catch (error) {
    await file.discard();
    if (ctx.signal.aborted && isConnectrError(ctx.signal.reason)) throw ctx.signal.reason;
    if (isConnectrError(error)) throw error;
    if (isLocalFault(error)) throw cannotWrite(path, error);
    throw new ConnectrError('unavailable', `the download to ${path} did not complete: ${messageOf(error)}`, {
      hint: 'nothing was left behind; run the command again',
    });
  }
}

/** Errors of the local file system, which running the command again would not cure. */
const LOCAL_FAULTS = new Set([
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOTDIR',
  'EISDIR',
  'ENOENT',
  'ELOOP',
  'ENOSPC',
  'EDQUOT',
  'EFBIG',
  'ENAMETOOLONG',
  'EXDEV',
  'EBUSY',
  'ETXTBSY',
]);

function isLocalFault(error: unknown): boolean {
  const code = errnoOf(error);
  return code !== undefined && LOCAL_FAULTS.has(code);
}

/** An exit-1 error naming the path that cannot be written, why, and what to do. */
function cannotWrite(path: string, error: unknown, folder?: string): ConnectrError {
  const where = folder ?? dirname(resolve(path));
  const code = errnoOf(error);
  const [reason, hint] = ((): [string, string] => {
    switch (code) {
      case 'ENOENT':
        return [`the folder ${where} does not exist`, `create it first, or choose another -o path`];
      case 'ENOTDIR':
        return [
          `${where}, or a folder above it, is not a folder`,
          'choose an -o path inside an existing folder',
        ];
      case 'EACCES':
      case 'EPERM':
        return ['permission denied', `check that you may write to ${where}, or choose another -o path`];
      case 'EROFS':
        return ['the file system is read-only', 'choose an -o path on a writable disk'];
      case 'ENOSPC':
      case 'EDQUOT':
        return ['the disk is full', 'free some space, or choose an -o path on another disk'];
      case 'ELOOP':
        return ['too many levels of symbolic links', 'point -o at the file itself'];
      default:
        return [messageOf(error), 'choose another -o path'];
    }
  })();
  return new ConnectrError('invalid_input', `cannot write ${path}: ${reason}`, { hint });
}

function counter(ctx: CliContext, response: HttpResponse, label: string): Transform {
  const total = Number(header(response, 'content-length')) || undefined;
  const bar = progressBar(ctx.io, label);
  let done = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length;
      bar.update(done, total);
      callback(null, chunk);
    },
    flush(callback) {
      bar.finish();
      callback();
    },
  });
}

function statusBlock(response: HttpResponse): string {
  const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}`.trimEnd()];
  for (const [name, value] of Object.entries(response.headers)) {
    for (const v of Array.isArray(value) ? value : [value ?? '']) lines.push(`${name}: ${v}`);
  }
  return `${lines.join('\n')}\n`;
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

async function* chain(first: Buffer, rest: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  yield* rest;
}

/** Text chunks with control characters escaped; a character split across chunks stays whole. */
function escapedText(): Transform {
  const decoder = new StringDecoder('utf8');
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      done(null, escapeControls(decoder.write(chunk)));
    },
    flush(done) {
      done(null, escapeControls(decoder.end()));
    },
  });
}
