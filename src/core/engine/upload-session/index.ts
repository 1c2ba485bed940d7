import { ConnectrError } from '../../errors.js';
import type { ParamValues } from '../params.js';
import type { PreparedRequest } from '../request.js';
import type { HttpResponse, SendDeps, SendOptions } from '../send.js';
import { dropboxUpload } from './dropbox.js';
import { googleUpload } from './google.js';
import { graphUpload } from './graph.js';
import { slackUpload } from './slack.js';
import type { UploadProgress } from './shared.js';

export type { UploadProgress } from './shared.js';
export { chunksOf } from './chunker.js';

/**
 * Large uploads through the provider's upload-session protocol, read in fixed-size chunks so
 * memory stays constant whatever the file size: Dropbox (start / append_v2 / finish with a
 * session cursor) and Microsoft Graph (createUploadSession, then Content-Range PUTs to a
 * pre-authenticated uploadUrl, which must not receive the Authorization header) and Google
 * (a resumable session URI, then Content-Range PUTs answered 308 with the Range held) and
 * Slack (an upload URL for the whole file between two API calls). The URLs an API answers for
 * the bytes are followed only where follow.ts allows (`followed: 'upload URL'`).
 */

/** Whether a raw body of `size` bytes (undefined: unknown, as stdin) needs the upload session. */
export function needsSession(req: PreparedRequest, size: number | undefined): boolean {
  const session = req.endpoint.upload_session;
  if (!session || req.body.kind !== 'raw') return false;
  return size === undefined || size > session.threshold || session.threshold === 0;
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
  if (session.protocol === 'dropbox') return dropboxUpload(req, session, source, deps, options, progress);
  if (session.protocol === 'google')
    return googleUpload(req, session, values, source, deps, options, progress);
  if (session.protocol === 'slack') return slackUpload(req, session, values, source, deps, options, progress);
  return graphUpload(req, session, values, source, deps, options, progress);
}
