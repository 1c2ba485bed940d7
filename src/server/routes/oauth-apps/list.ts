import * as z from 'zod';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS } from '../../errors.js';
import { listOAuthApps } from '../../services/oauth-apps.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { OAuthAppShape, oauthAppJson } from './shape.js';

const OAuthAppList = z.object({ oauth_apps: z.array(OAuthAppShape) });

/** `GET /api/v1/oauth-apps`: the project's OAuth apps, by connector; never a secret. */
export function registerListOAuthApps(app: App, context: RouteContext): void {
  app.get(
    '/api/v1/oauth-apps',
    {
      schema: {
        summary: "List the project's OAuth apps",
        description:
          'The client ids saved with PUT /oauth-apps/{connector}, and whether a secret is saved; never the secret.',
        tags: ['oauth-apps'],
        response: { 200: OAuthAppList, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const apps = await listOAuthApps(requireData(context), projectId);
      return { oauth_apps: apps.map(oauthAppJson) };
    },
  );
}
