import type { UploadSessionDefinition } from '../../connector/schema.js';
import { ConnectrError } from '../../errors.js';
import { sizeOf } from '../body.js';
import type { RawBody } from '../params.js';
import { buildRequest } from '../request.js';
import type { PreparedRequest } from '../request.js';
import { send } from '../send.js';
import type { HttpResponse, SendDeps, SendOptions } from '../send.js';
import { chunksOf, openSource } from './chunker.js';
import { okJson, sessionEndpoint, withChunk } from './shared.js';
import type { UploadProgress } from './shared.js';

/**
 * Dropbox upload sessions: upload_session/start with the first chunk, append_v2 with a
 * {session_id, offset} cursor, finish with the last chunk and the commit the plain upload would
 * have sent in its Dropbox-API-Arg header.
 */
export async function dropboxUpload(
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
