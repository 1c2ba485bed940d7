import * as z from 'zod';
import { VERSION } from '../../../core/version.js';
import type { App } from '../../types.js';

const Health = z.object({
  status: z.literal('ok'),
  version: z.string().describe('The connectr version serving.'),
});

/** `GET /health`: the process answers. Liveness only: it never touches the database. */
export function registerHealth(app: App): void {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness: the process answers',
        tags: ['operations'],
        security: [],
        response: { 200: Health },
      },
    },
    () => ({ status: 'ok' as const, version: VERSION }),
  );
}
