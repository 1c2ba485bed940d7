import * as z from 'zod';
import { allowedOrigins, putAllowedOrigins } from '../../connect/sessions.js';
import { COMMON_ERRORS } from '../../errors.js';
import { identityOf } from '../../plugins/auth.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { OriginList } from './shape.js';

const Settings = z.object({
  allowed_origins: z
    .array(z.string())
    .describe(
      'Exact origins (https://app.example.com; http only on 127.0.0.1, localhost or [::1]) the Connect page may return to, post its outcome to and be framed by.',
    ),
});

/** `GET` and `PUT /api/v1/connect/settings`: the project's allowed origins for the Connect page. */
export function registerConnectSettings(app: App, context: RouteContext): void {
  app.get(
    '/api/v1/connect/settings',
    {
      schema: {
        summary: "The project's Connect settings",
        tags: ['connect'],
        response: { 200: Settings, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      return { allowed_origins: await allowedOrigins(requireData(context), projectId) };
    },
  );
  app.put(
    '/api/v1/connect/settings',
    {
      schema: {
        summary: "Replace the project's Connect settings",
        description:
          'A session whose return_url is on another origin is refused (400); the page posts its outcome to these origins only and may be framed by them only.',
        tags: ['connect'],
        body: z.strictObject({ allowed_origins: OriginList }),
        response: { 200: Settings, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const now = new Date((context.deps.now ?? Date.now)());
      const origins = await putAllowedOrigins(
        requireData(context),
        projectId,
        request.body.allowed_origins,
        now,
      );
      return { allowed_origins: origins };
    },
  );
}
