import * as z from 'zod';
import { ConnectrError } from '../../../core/errors.js';
import { assets } from '../../web/assets.js';
import type { App } from '../../types.js';

const Params = z.object({ file: z.string().max(100) });

/**
 * `GET /assets/{file}`: the pages' style sheet and scripts, cached by the browser for an hour
 * and revalidated by ETag (a new version of connectr changes them). Hidden from the API docs:
 * they are the pages' parts, not an API.
 */
export function registerAssets(app: App): void {
  app.get('/assets/:file', { schema: { hide: true, params: Params } }, async (request, reply) => {
    const asset = assets().get(request.params.file);
    if (!asset) throw new ConnectrError('not_found', `no asset ${JSON.stringify(request.params.file)}`);
    void reply
      .header('content-type', asset.type)
      .header('cache-control', 'public, max-age=3600')
      .header('etag', asset.etag)
      .header('x-content-type-options', 'nosniff');
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.send(asset.body);
  });
}
