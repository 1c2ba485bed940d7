import type { App } from '../../types.js';

/** `GET /openapi.json`: the OpenAPI 3 document of every route (also at /docs/json for Swagger UI). */
export function registerOpenApi(app: App): void {
  app.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) => {
    await reply.type('application/json; charset=utf-8').send(app.swagger());
  });
}
