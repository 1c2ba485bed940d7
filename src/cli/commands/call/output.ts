import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { STATUS_CODES } from 'node:http';
import type { Endpoint } from '../../../core/connector/model.js';
import { ConnectrError, isConnectrError, messageOf } from '../../../core/errors.js';
import { header, headerResult, responseKind } from '../../../core/engine/response.js';
import type { HttpResponse } from '../../../core/engine/send.js';
import type { CliContext } from '../../context.js';
import { escapeControls, escapeJson } from '../../escape.js';
import { write } from '../../io.js';
import { progressBar } from '../../progress.js';

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
    case 'json': {
      const text = await response.body.text();
      if (options.raw) io.stdout.write(text);
      else out.printJson(parseOr(text));
      return;
    }
    case 'text': {
      // Byte-exact to a pipe or with --raw; on a terminal its control characters are escaped.
      const text = await response.body.text();
      io.stdout.write(io.stdoutIsTTY && !options.raw ? escapeControls(text) : text);
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

/** Fails before anything is sent when -o names a directory or a place that cannot be written. */
export async function checkOutputPath(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) {
    throw new ConnectrError('usage', `-o ${path} is a directory`, {
      hint: `name the file: -o ${join(path, 'FILE')}`,
    });
  }
  const parent = await stat(dirname(resolve(path))).catch(() => undefined);
  if (!parent?.isDirectory()) {
    throw new ConnectrError(
      'invalid_input',
      `cannot write ${path}: the folder ${dirname(resolve(path))} does not exist`,
    );
  }
}

/** Writes the body to a temporary file next to `path`, renamed into place only when complete. */
async function saveTo(ctx: CliContext, response: HttpResponse, path: string): Promise<void> {
  const target = resolve(path);
  const temp = join(dirname(target), `.${basename(target)}.connectr-partial`);
  try {
    await pipeline(response.body.stream, counter(ctx, response, 'Downloading'), createWriteStream(temp));
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    if (isConnectrError(error)) throw error;
    throw new ConnectrError('unavailable', `the download to ${path} did not complete: ${messageOf(error)}`, {
      hint: 'nothing was left behind; run the command again',
    });
  }
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
