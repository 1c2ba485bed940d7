import type { UploadSessionDefinition } from '../../connector/schema.js';
import { ConnectrError } from '../../errors.js';
import { sizeOf } from '../body.js';
import type { ParamValues, RawBody } from '../params.js';
import { buildRequest } from '../request.js';
import type { PreparedRequest } from '../request.js';
import { send } from '../send.js';
import type { HttpResponse, SendDeps, SendOptions } from '../send.js';
import { chunksOf, openSource } from './chunker.js';
import { okJson, sessionEndpoint, sharedValues, uploadTarget, withKnownSize } from './shared.js';
import type { UploadProgress } from './shared.js';

/**
 * Microsoft Graph upload sessions: createUploadSession, then Content-Range PUTs to the
 * pre-authenticated uploadUrl it returns, which must not receive the Authorization header and
 * is followed only where follow.ts allows (Graph answers one on *.up.1drv.com or SharePoint:
 * the connector's redirect_hosts). An unfinished session is deleted.
 */
export async function graphUpload(
  req: PreparedRequest,
  session: UploadSessionDefinition,
  values: ParamValues,
  source: RawBody,
  deps: SendDeps,
  options: SendOptions,
  progress?: UploadProgress,
): Promise<HttpResponse> {
  // Graph needs the total size in every Content-Range.
  return withKnownSize(source, deps, async (body) => {
    const total = (await sizeOf(body)) ?? 0;
    const start = sessionEndpoint(req, session.start);
    const startValues = sharedValues(start, values);
    const created = await okJson(
      await send(buildRequest(req.connector, start, startValues, { env: deps.env }), deps, options),
      req,
      'create the upload session',
    );
    if (typeof created.uploadUrl !== 'string' || !created.uploadUrl)
      throw new ConnectrError(
        'upstream',
        `${req.connector.displayName} created an upload session without an uploadUrl`,
      );
    const uploadUrl = uploadTarget(created.uploadUrl, req.url, req, 'uploadUrl');
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
          url: uploadUrl,
          followed: 'upload URL',
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
  });
}

/** Deletes an unfinished Graph upload session so nothing half-uploaded lingers. */
async function cancel(
  uploadUrl: URL,
  deps: SendDeps,
  options: SendOptions,
  req: PreparedRequest,
): Promise<void> {
  try {
    const response = await send(
      {
        ...req,
        method: 'DELETE',
        url: uploadUrl,
        followed: 'upload URL',
        headers: {},
        body: { kind: 'none' },
      },
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
