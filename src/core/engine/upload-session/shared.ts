import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { findEndpoint } from '../../connector/model.js';
import type { Endpoint } from '../../connector/model.js';
import { ConnectrError } from '../../errors.js';
import type { ParamValue, ParamValues, RawBody } from '../params.js';
import type { PreparedRequest } from '../request.js';
import { isErrorAnswer, responseKind, upstreamError } from '../response.js';
import type { HttpResponse, SendDeps } from '../send.js';

/** What both upload-session protocols share: their endpoints, chunk bodies and JSON answers. */

export type UploadProgress = (sent: number, total: number | undefined) => void;

export function sessionEndpoint(req: PreparedRequest, name: string | undefined): Endpoint {
  const endpoint = name ? findEndpoint(req.connector, name) : undefined;
  if (!endpoint)
    throw new ConnectrError(
      'invalid_connector',
      `${req.connector.name}: upload session endpoint "${name ?? ''}" is missing`,
    );
  return endpoint;
}

/**
 * Runs `upload` with a body whose size is known: standard input is spooled to a private
 * temporary file first (Graph and Slack need the total before the first byte), removed after.
 */
export async function withKnownSize<T>(
  source: RawBody,
  deps: Pick<SendDeps, 'stdin'>,
  upload: (body: RawBody) => Promise<T>,
): Promise<T> {
  if (source.kind !== 'stdin') return upload(source);
  const dir = await mkdtemp(join(tmpdir(), 'connectr-upload-'));
  try {
    const file = join(dir, 'body');
    await pipeline(deps.stdin(), createWriteStream(file, { mode: 0o600 }));
    return await upload({ kind: 'file', path: file });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The URL an API answered for the bytes (Graph's uploadUrl, Google's session Location, Slack's
 * upload_url), relative to `base`. Requests to it are marked `followed: 'upload URL'`, so send
 * holds them to follow.ts's rule: otherwise the API's text alone would decide where the caller's
 * bytes go (a hostile upstream naming an internal address). Not a URL at all: the API's fault.
 */
export function uploadTarget(value: string, base: URL, req: PreparedRequest, field: string): URL {
  try {
    return new URL(value, base);
  } catch {
    throw new ConnectrError(
      'upstream',
      `${req.connector.displayName} answered an upload session whose ${field} is not a URL`,
    );
  }
}

/** The upload's values whose keys a session endpoint declares too. */
export function sharedValues(endpoint: Endpoint, values: ParamValues): Map<string, ParamValue> {
  return new Map([...values].filter(([key]) => endpoint.params.some((p) => p.key === key)));
}

/** Values for a session endpoint: the given ones plus the chunk as its raw body. */
export function withChunk(endpoint: Endpoint, given: Record<string, ParamValue>, chunk: Buffer): ParamValues {
  const values = new Map<string, ParamValue>(Object.entries(given));
  const raw = endpoint.params.find((p) => p.in === 'raw');
  if (raw) values.set(raw.key, { kind: 'bytes', data: chunk });
  return values;
}

/** An error answer to one step of a session, as an error naming that step. */
export async function refuseError(response: HttpResponse, req: PreparedRequest, what: string): Promise<void> {
  if (!isErrorAnswer(response)) return;
  const error = await upstreamError(req.connector, req.endpoint, response);
  throw new ConnectrError(error.code, `could not ${what}: ${error.message}`, { hint: error.hint });
}

export async function okJson(
  response: HttpResponse,
  req: PreparedRequest,
  what: string,
): Promise<Record<string, unknown>> {
  await refuseError(response, req, what);
  if (
    responseKind(req.endpoint, response) !== 'json' &&
    !String(response.headers['content-type']).includes('json')
  ) {
    await response.body.dump();
    return {};
  }
  return JSON.parse(await response.body.text()) as Record<string, unknown>;
}
