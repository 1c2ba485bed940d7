import type { UploadSessionDefinition } from '../../connector/schema.js';
import { ConnectrError } from '../../errors.js';
import { sizeOf } from '../body.js';
import type { ParamValues, RawBody } from '../params.js';
import { buildRequest } from '../request.js';
import type { PreparedRequest } from '../request.js';
import { send } from '../send.js';
import type { HttpResponse, SendDeps, SendOptions } from '../send.js';
import { okJson, refuseError, sessionEndpoint, sharedValues, uploadTarget, withKnownSize } from './shared.js';
import type { UploadProgress } from './shared.js';

/**
 * Slack's file upload (docs.slack.dev/messaging/working-with-files): the start endpoint
 * (files.getUploadURLExternal) is told the file's `length` and answers an `upload_url` and a
 * `file_id`; the bytes are POSTed to that URL whole (files.slack.com, not a Slack API host: it
 * gets no token, and is reached only where follow.ts allows, the connector's redirect_hosts),
 * which answers 200; the finish endpoint (files.completeUploadExternal) is given
 * `files` = [{id, title}] and shares the file, and its answer is the upload's.
 */
export async function slackUpload(
  req: PreparedRequest,
  session: UploadSessionDefinition,
  values: ParamValues,
  source: RawBody,
  deps: SendDeps,
  options: SendOptions,
  progress?: UploadProgress,
): Promise<HttpResponse> {
  const start = sessionEndpoint(req, session.start);
  const finish = sessionEndpoint(req, session.finish);
  return withKnownSize(source, deps, async (body) => {
    const total = (await sizeOf(body)) ?? 0;
    const startValues = sharedValues(start, values);
    startValues.set('length', total);
    const started = await okJson(
      await send(buildRequest(req.connector, start, startValues, { env: deps.env }), deps, options),
      req,
      'start the upload',
    );
    const uploadUrl = typeof started.upload_url === 'string' ? started.upload_url : undefined;
    const fileId = typeof started.file_id === 'string' ? started.file_id : undefined;
    if (!uploadUrl || !fileId)
      throw new ConnectrError(
        'upstream',
        `${req.connector.displayName} started an upload without an upload_url and a file_id`,
      );
    const uploaded = await send(
      {
        ...req,
        method: 'POST',
        url: uploadTarget(uploadUrl, req.url, req, 'upload_url'),
        followed: 'upload URL',
        headers: {
          'user-agent': req.headers['user-agent'] ?? 'connectr',
          'content-type': 'application/octet-stream',
        },
        body: { kind: 'raw', source: body },
      },
      // Not an API host: the token stays home even if the URL were on one.
      { ...deps, credential: () => Promise.resolve({ kind: 'none' }), refresh: undefined },
      { ...options, onUpload: (sent) => progress?.(sent, total) },
    );
    await refuseError(uploaded, req, 'upload the file');
    await uploaded.body.dump();

    const title = values.get('title');
    const finishValues = sharedValues(finish, values);
    finishValues.set('files', [{ id: fileId, ...(typeof title === 'string' ? { title } : {}) }]);
    return send(buildRequest(req.connector, finish, finishValues, { env: deps.env }), deps, options);
  });
}
