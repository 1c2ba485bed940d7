import type { ParamValues } from './params.js';
import type { PreparedRequest } from './request.js';
import { send } from './send.js';
import type { HttpResponse, SendDeps, SendOptions } from './send.js';
import { needsSession, uploadWithSession } from './upload-session/index.js';
import type { UploadProgress } from './upload-session/index.js';
import { sizeOf } from './body.js';

/**
 * One endpoint call: a plain request, or the provider's upload session when the body is
 * larger than the definition's threshold (or of unknown size). The same function serves the
 * CLI and the server.
 */
export async function execute(
  req: PreparedRequest,
  values: ParamValues,
  deps: SendDeps,
  options: SendOptions,
  progress?: UploadProgress,
): Promise<HttpResponse> {
  // The body's size is looked up once: it decides the protocol and feeds the progress bar.
  const total = req.body.kind === 'raw' ? await sizeOf(req.body.source) : undefined;
  if (needsSession(req, total)) return uploadWithSession(req, values, deps, options, progress);
  return send(req, deps, {
    ...options,
    onUpload: progress
      ? (sent) => {
          progress(sent, total);
        }
      : undefined,
  });
}
