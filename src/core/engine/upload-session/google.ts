import type { UploadSessionDefinition } from '../../connector/schema.js';
import { ConnectrError } from '../../errors.js';
import type { ParamValues, RawBody } from '../params.js';
import { buildRequest } from '../request.js';
import type { PreparedRequest } from '../request.js';
import { send } from '../send.js';
import type { HttpResponse, SendDeps, SendOptions } from '../send.js';
import { chunksOf, openSource } from './chunker.js';
import { okJson, sessionEndpoint, sharedValues, uploadTarget } from './shared.js';
import type { UploadProgress } from './shared.js';

/**
 * Google's resumable uploads (developers.google.com/workspace/drive/api/guides/manage-uploads):
 * the start endpoint answers the session URI in Location; each chunk is a PUT with
 * Content-Range (`bytes a-b/*` while the total is unknown, so standard input streams without
 * spooling; `bytes a-b/total` on the last); Google answers 308 with Range (`bytes=0-n`, the
 * bytes it holds) until the last, then the file. A chunk whose answer was lost (a dropped
 * connection, a 5xx) is not blindly sent again: connectr asks the session what it holds
 * (an empty PUT with `bytes *\/total`) and sends the rest from there.
 */
const ATTEMPTS_PER_CHUNK = 5;

export async function googleUpload(
  req: PreparedRequest,
  session: UploadSessionDefinition,
  values: ParamValues,
  source: RawBody,
  deps: SendDeps,
  options: SendOptions,
  progress?: UploadProgress,
): Promise<HttpResponse> {
  const start = sessionEndpoint(req, session.start);
  // The upload's values the start endpoint shares, and the start endpoint's own defaults.
  const startValues = sharedValues(start, values);
  for (const param of start.params) {
    const given = param.default;
    if (
      !startValues.has(param.key) &&
      (typeof given === 'string' || typeof given === 'number' || typeof given === 'boolean')
    )
      startValues.set(param.key, given);
  }
  const started = await send(
    buildRequest(req.connector, start, startValues, { env: deps.env }),
    deps,
    options,
  );
  const location = started.headers.location;
  await okJson(started, req, 'start the resumable upload');
  if (typeof location !== 'string' || !location)
    throw new ConnectrError(
      'upstream',
      `${req.connector.displayName} started an upload session without a Location`,
    );
  const sessionUrl = uploadTarget(location, req.url, req, 'Location');
  // Each chunk is sent once per attempt; connectr decides itself what to send again.
  const once: SendOptions = { ...options, retries: 0 };
  let offset = 0;
  for await (const { chunk, last } of chunksOf(openSource(source, deps.stdin), session.chunk_size)) {
    const chunkStart = offset;
    const total = last ? String(chunkStart + chunk.length) : '*';
    let held = chunkStart;
    for (let attempt = 1; ; attempt++) {
      let response: HttpResponse | undefined;
      try {
        const part = chunk.subarray(held - chunkStart);
        response = await send(
          {
            ...req,
            method: 'PUT',
            url: sessionUrl,
            followed: 'upload URL',
            headers: {
              'content-range':
                part.length > 0 ? `bytes ${held}-${held + part.length - 1}/${total}` : `bytes */${total}`,
            },
            body: { kind: 'raw', source: { kind: 'bytes', data: part } },
          },
          deps,
          once,
        );
      } catch (error) {
        if (attempt >= ATTEMPTS_PER_CHUNK || (error instanceof ConnectrError && error.code !== 'unavailable'))
          throw error;
      }
      if (response && response.status !== 308 && response.status !== 429 && response.status < 500) {
        // The file (200/201) after the last chunk, or a refusal that resending cannot fix.
        if (response.status < 300 && !last) {
          await response.body.dump();
          throw new ConnectrError(
            'upstream',
            `${req.connector.displayName} ended the upload before its last chunk`,
          );
        }
        progress?.(chunkStart + chunk.length, last ? chunkStart + chunk.length : undefined);
        return response;
      }
      if (response?.status === 308) {
        const before = held;
        held = heldBytes(response.headers.range);
        await response.body.dump();
        if (held >= chunkStart + chunk.length) break;
        if (held < chunkStart)
          throw new ConnectrError(
            'upstream',
            `${req.connector.displayName} lost part of the upload already confirmed`,
          );
        // A server that takes part of a chunk is answered with the rest; one that takes
        // nothing, again and again, is not fed forever.
        if (held > before) attempt = 0;
        else if (attempt >= ATTEMPTS_PER_CHUNK)
          throw new ConnectrError(
            'upstream',
            `${req.connector.displayName} kept refusing the bytes from ${held} of the upload`,
          );
        continue;
      }
      // Lost answer, 429 or 5xx: ask the session what it holds before sending anything again.
      if (response) await response.body.dump();
      if (attempt >= ATTEMPTS_PER_CHUNK)
        throw new ConnectrError(
          'unavailable',
          `the upload to ${sessionUrl.host} failed ${attempt} times in a row`,
          {
            hint: 'try again later; the file on the server keeps its previous content',
          },
        );
      await deps.clock.sleep(Math.min(500 * 2 ** (attempt - 1), 8000), deps.signal);
      const status = await query(req, sessionUrl, total, deps, once, chunkStart);
      // The last chunk's answer was lost but the session has the whole file: that is the answer.
      if (typeof status !== 'number') return status;
      held = status;
      if (held >= chunkStart + chunk.length) break;
    }
    offset += chunk.length;
    progress?.(offset, undefined);
  }
  throw new ConnectrError('internal', 'the upload ended without a last chunk');
}

/** The bytes held according to a 308's Range header (`bytes=0-n`; none: nothing held). */
function heldBytes(range: string | string[] | undefined): number {
  const match = typeof range === 'string' ? /^bytes=0-(\d+)$/.exec(range) : null;
  return match ? Number(match[1]) + 1 : 0;
}

/**
 * Asks the session how many bytes it holds (an empty PUT with `bytes *\/total`), or gets the
 * finished file when it holds them all.
 */
async function query(
  req: PreparedRequest,
  sessionUrl: URL,
  total: string,
  deps: SendDeps,
  options: SendOptions,
  fallback: number,
): Promise<number | HttpResponse> {
  try {
    const response = await send(
      {
        ...req,
        method: 'PUT',
        url: sessionUrl,
        followed: 'upload URL',
        headers: { 'content-range': `bytes */${total}` },
        body: { kind: 'raw', source: { kind: 'bytes', data: Buffer.alloc(0) } },
      },
      deps,
      options,
    );
    if (response.status === 200 || response.status === 201) return response;
    await response.body.dump();
    return response.status === 308 ? heldBytes(response.headers.range) : fallback;
  } catch {
    return fallback;
  }
}
