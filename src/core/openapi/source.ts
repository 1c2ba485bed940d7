import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { ConnectrError, isConnectrError, messageOf } from '../errors.js';
import { dumpBody, sendRequest } from '../http/client.js';
import type { ClientRequest } from '../http/client.js';
import type { Env } from '../paths.js';
import { USER_AGENT } from '../version.js';

/**
 * Reading an OpenAPI document: a local file or an http(s) URL, bounded in size (and, for a URL,
 * in time and redirects), then parsed as JSON or YAML with errors that name line and column.
 */

/** The largest document read. GitHub's REST description, among the largest public ones, is 13 MB. */
export const MAX_DOCUMENT_BYTES = 64 * 1024 * 1024;
/** YAML aliases expanded at most this many times (a document is data, not an alias bomb). */
const MAX_ALIASES = 10_000;
const MAX_REDIRECTS = 5;

export interface SourceText {
  readonly text: string;
  /** The URL the document was read from (after redirects), for resolving relative server URLs. */
  readonly url?: URL;
}

export interface FetchOptions {
  readonly env?: Env | undefined;
  readonly dispatcher?: ClientRequest['dispatcher'];
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
}

export function isUrl(source: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(source);
}

export async function readSource(source: string, options: FetchOptions = {}): Promise<SourceText> {
  if (isUrl(source)) return fetchSource(source, options);
  return { text: await readFileBounded(source) };
}

async function readFileBounded(file: string): Promise<string> {
  let handle;
  try {
    // Non-blocking open, then a regular-file check: a FIFO would otherwise block forever.
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConnectrError(
      'invalid_input',
      code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${messageOf(error)}`,
      { hint: 'name an OpenAPI document (YAML or JSON) or an http(s) URL' },
    );
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new ConnectrError('invalid_input', `${file} is not a regular file`, {
        hint: 'name an OpenAPI document (YAML or JSON) or an http(s) URL',
      });
    }
    if (info.size > MAX_DOCUMENT_BYTES) throw tooLarge(file);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

function tooLarge(source: string): ConnectrError {
  return new ConnectrError(
    'invalid_input',
    `${source} is larger than ${MAX_DOCUMENT_BYTES / (1024 * 1024)} MB, more than any OpenAPI document connectr imports`,
    { hint: 'check that it is an OpenAPI document' },
  );
}

async function fetchSource(source: string, options: FetchOptions): Promise<SourceText> {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new ConnectrError('invalid_input', `"${source}" is not a valid URL`);
  }
  const timeout = options.timeoutMs ?? 30_000;
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConnectrError('invalid_input', `cannot fetch ${url.protocol} URLs: ${url.href}`, {
        hint: 'use an http(s) URL, or download the document and name the file',
      });
    }
    let response;
    try {
      response = await sendRequest(url, {
        method: 'GET',
        headers: {
          'user-agent': USER_AGENT,
          accept: 'application/yaml, application/json;q=0.9, */*;q=0.5',
        },
        headersTimeoutMs: timeout,
        bodyTimeoutMs: timeout,
        env: options.env,
        dispatcher: options.dispatcher,
        signal: options.signal,
      });
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason as Error;
      throw new ConnectrError('unavailable', `cannot fetch ${url.href}: ${messageOf(error)}`, {
        hint: 'check the URL and your network connection (and proxy settings)',
        cause: error,
      });
    }
    const status = response.statusCode;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && typeof location === 'string') {
      await dumpBody(response.body);
      if (hop >= MAX_REDIRECTS) {
        throw new ConnectrError('upstream', `${source} redirected more than ${MAX_REDIRECTS} times`);
      }
      url = new URL(location, url);
      continue;
    }
    if (status < 200 || status >= 300) {
      await dumpBody(response.body);
      throw new ConnectrError('upstream', `${url.href} answered HTTP ${status}`, {
        hint: 'check the URL of the OpenAPI document',
      });
    }
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_DOCUMENT_BYTES) {
      response.body.destroy();
      throw tooLarge(url.href);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_DOCUMENT_BYTES) {
          response.body.destroy();
          throw tooLarge(url.href);
        }
        chunks.push(chunk);
      }
    } catch (error) {
      if (isConnectrError(error)) throw error;
      throw new ConnectrError('unavailable', `reading ${url.href} failed: ${messageOf(error)}`, {
        cause: error,
      });
    }
    return { text: Buffer.concat(chunks).toString('utf8'), url };
  }
}

/** The document as data: JSON when it looks like JSON (much faster on large files), else YAML. */
export function parseText(text: string, source: string): unknown {
  const start = text.search(/\S/);
  const looksJson = start >= 0 && text[start] === '{';
  if (looksJson) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // JSON is YAML: the YAML parser below says where the text goes wrong.
    }
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    throw new ConnectrError(
      'invalid_input',
      `${source}:${pos.line}:${pos.col}: not valid ${looksJson ? 'JSON' : 'YAML'} (${first.message.split('\n')[0] ?? first.code})`,
      { hint: 'fix the document, or check that it is the OpenAPI document you meant' },
    );
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIASES }) as unknown;
  } catch (error) {
    throw new ConnectrError('invalid_input', `${source}: ${messageOf(error)}`, {
      hint: 'an OpenAPI document needs no YAML alias expanded that often',
    });
  }
}
