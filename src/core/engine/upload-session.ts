import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { findEndpoint } from '../connector/model.js';
import type { Endpoint } from '../connector/model.js';
import type { UploadSessionDefinition } from '../connector/schema.js';
import { ConnectrError } from '../errors.js';
import type { ParamValue, ParamValues, RawBody } from './params.js';
import { buildRequest } from './request.js';
import type { PreparedRequest } from './request.js';
import { responseKind, upstreamError } from './response.js';
import { send } from './send.js';
import type { HttpResponse, SendDeps, SendOptions } from './send.js';
import { sizeOf } from './body.js';

/**
 * Large uploads through the provider's upload-session protocol, read in fixed-size chunks so
 * memory stays constant whatever the file size: Dropbox (start / append_v2 / finish with a
 * session cursor) and Microsoft Graph (createUploadSession, then Content-Range PUTs to a
 * pre-authenticated uploadUrl, which must not receive the Authorization header).
 */

export type UploadProgress = (sent: number, total: number | undefined) => void;

/** Whether a raw body of `size` bytes (undefined: unknown, as stdin) needs the upload session. */
export function needsSession(req: PreparedRequest, size: number | undefined): boolean {
  const session = req.endpoint.upload_session;
  if (!session || req.body.kind !== 'raw') return false;
  return size === undefined || size > session.threshold;
}

export async function uploadWithSession(
  req: PreparedRequest,
  values: ParamValues,
  deps: SendDeps,
  options: SendOptions,
  progress?: UploadProgress,
): Promise<HttpResponse> {
  const session = req.endpoint.upload_session;
  if (!session || req.body.kind !== 'raw')
    throw new ConnectrError('internal', 'no upload session for this request');
  const source = req.body.source;
  if (session.protocol === 'dropbox') return dropbox(req, session, source, deps, options, progress);
  return graph(req, session, values, source, deps, options, progress);
}

function sessionEndpoint(req: PreparedRequest, name: string | undefined): Endpoint {
  const endpoint = name ? findEndpoint(req.connector, name) : undefined;
  if (!endpoint)
    throw new ConnectrError(
      'invalid_connector',
      `${req.connector.name}: upload session endpoint "${name ?? ''}" is missing`,
    );
  return endpoint;
}

/** Values for a session endpoint: the given ones plus the chunk as its raw body. */
function withChunk(endpoint: Endpoint, given: Record<string, ParamValue>, chunk: Buffer): ParamValues {
  const values = new Map<string, ParamValue>(Object.entries(given));
  const raw = endpoint.params.find((p) => p.in === 'raw');
  if (raw) values.set(raw.key, { kind: 'bytes', data: chunk });
  return values;
}

async function dropbox(
  req: PreparedRequest,
  session: UploadSessionDefinition,
  source: RawBody,
  deps: SendDeps,
  options: SendOptions,
  progress?: UploadProgress,
): Promise<HttpResponse> {
  const start = sessionEndpoint(req, session.start);
  const append = sessionEndpoint(req, session.append);
  const finish = sessionEndpoint(req, session.finish);
  // The commit is what the plain upload would have sent as its argument header.
  const argHeader = (req.endpoint.request?.json_header ?? '').toLowerCase();
  const commit = JSON.parse(req.headers[argHeader] ?? '{}') as Record<string, unknown>;
  const total = await sizeOf(source);
  const build = { env: deps.env };
  let sessionId = '';
  let offset = 0;
  for await (const { chunk, last, first } of chunksOf(openSource(source, deps.stdin), session.chunk_size)) {
    let response: HttpResponse;
    if (first && last) {
      // A small body after all (standard input): one plain upload.
      response = await send(
        { ...req, body: { kind: 'raw', source: { kind: 'bytes', data: chunk } } },
        deps,
        options,
      );
      return response;
    }
    if (first) {
      response = await send(
        buildRequest(req.connector, start, withChunk(start, { close: false }, chunk), build),
        deps,
        options,
      );
      const started = await okJson(response, req, 'start the upload session');
      sessionId = typeof started.session_id === 'string' ? started.session_id : '';
    } else if (!last) {
      response = await send(
        buildRequest(
          req.connector,
          append,
          withChunk(append, { cursor: { session_id: sessionId, offset }, close: false }, chunk),
          build,
        ),
        deps,
        options,
      );
      await okJson(response, req, 'append to the upload session');
    } else {
      const values = withChunk(finish, { cursor: { session_id: sessionId, offset }, commit }, chunk);
      progress?.(offset + chunk.length, total);
      return send(buildRequest(req.connector, finish, values, build), deps, options);
    }
    offset += chunk.length;
    progress?.(offset, total);
  }
  throw new ConnectrError('internal', 'the upload ended without a last chunk');
}

async function graph(
  req: PreparedRequest,
  session: UploadSessionDefinition,
  values: ParamValues,
  source: RawBody,
  deps: SendDeps,
  options: SendOptions,
  progress?: UploadProgress,
): Promise<HttpResponse> {
  // Graph needs the total size in every Content-Range: spool standard input to a file first.
  let spooled: string | undefined;
  let body = source;
  if (source.kind === 'stdin') {
    spooled = await mkdtemp(join(tmpdir(), 'connectr-upload-'));
    const file = join(spooled, 'body');
    await pipeline(deps.stdin, createWriteStream(file, { mode: 0o600 }));
    body = { kind: 'file', path: file };
  }
  try {
    const total = (await sizeOf(body)) ?? 0;
    const start = sessionEndpoint(req, session.start);
    const startValues = new Map([...values].filter(([key]) => start.params.some((p) => p.key === key)));
    const created = await okJson(
      await send(buildRequest(req.connector, start, startValues, { env: deps.env }), deps, options),
      req,
      'create the upload session',
    );
    const uploadUrl = typeof created.uploadUrl === 'string' ? created.uploadUrl : undefined;
    if (!uploadUrl)
      throw new ConnectrError(
        'upstream',
        `${req.connector.displayName} created an upload session without an uploadUrl`,
      );
    // The upload URL is pre-authenticated: no credential, ever.
    const anonymous: SendDeps = {
      ...deps,
      credential: () => Promise.resolve({ kind: 'none' }),
      refresh: undefined,
    };
    let offset = 0;
    try {
      for await (const { chunk, last } of chunksOf(openSource(body, deps.stdin), session.chunk_size)) {
        const end = offset + chunk.length - 1;
        const put: PreparedRequest = {
          ...req,
          method: 'PUT',
          url: new URL(uploadUrl),
          headers: { 'content-range': `bytes ${offset}-${end}/${total}` },
          body: { kind: 'raw', source: { kind: 'bytes', data: chunk } },
        };
        const response = await send(put, anonymous, options);
        offset += chunk.length;
        progress?.(offset, total);
        // 202 Accepted asks for the next range; anything else ends the upload, for good or ill.
        if (response.status === 202 && !last) {
          await response.body.dump();
          continue;
        }
        if (response.status >= 300) await cancel(uploadUrl, anonymous, options, req);
        return response;
      }
    } catch (error) {
      await cancel(uploadUrl, anonymous, options, req);
      throw error;
    }
    throw new ConnectrError('internal', 'the upload ended without a last chunk');
  } finally {
    if (spooled) await rm(spooled, { recursive: true, force: true });
  }
}

/** Deletes an unfinished Graph upload session so nothing half-uploaded lingers. */
async function cancel(
  uploadUrl: string,
  deps: SendDeps,
  options: SendOptions,
  req: PreparedRequest,
): Promise<void> {
  try {
    const response = await send(
      { ...req, method: 'DELETE', url: new URL(uploadUrl), headers: {}, body: { kind: 'none' } },
      deps,
      {
        ...options,
        retries: 0,
      },
    );
    await response.body.dump();
  } catch {
    // Sessions expire by themselves; the original error matters more.
  }
}

async function okJson(
  response: HttpResponse,
  req: PreparedRequest,
  what: string,
): Promise<Record<string, unknown>> {
  if (response.status >= 300) {
    const error = await upstreamError(req.connector, req.endpoint, response);
    throw new ConnectrError(error.code, `could not ${what}: ${error.message}`, { hint: error.hint });
  }
  if (
    responseKind(req.endpoint, response) !== 'json' &&
    !String(response.headers['content-type']).includes('json')
  ) {
    await response.body.dump();
    return {};
  }
  return JSON.parse(await response.body.text()) as Record<string, unknown>;
}

function openSource(source: RawBody, stdin: Readable): AsyncIterable<Buffer> | Iterable<Buffer> {
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
