import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { VERSION } from '../../core/version.js';
import type { App } from '../types.js';

/**
 * The OpenAPI document, generated from each route's zod schemas (`/openapi.json`), and
 * Swagger UI at `/docs`, served from @fastify/swagger-ui's own files: the page loads nothing
 * from another origin (no CDN, no validator badge), so it works offline and behind firewalls.
 */

export const SECURITY_SCHEME = 'apiKey';

/** Swagger UI's default CSP, minus what would reach other origins or upgrade http to https. */
function localOnlyCsp(header: string): string {
  return header
    .replace(/ https:/g, '')
    .replace(/ validator\.swagger\.io/g, '')
    .replace(/ ?upgrade-insecure-requests;/g, '');
}

export async function installDocs(app: App): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'connectr',
        version: VERSION,
        description:
          'The connectors, connections and API calls of a connectr server. Every route but /health, /ready, /openapi.json and /docs needs "Authorization: Bearer <api key>". Errors are {"error": {"code", "message", "details"}}.',
      },
      components: {
        securitySchemes: {
          [SECURITY_SCHEME]: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key made with `connectr serve keys create --name <name>`.',
          },
        },
      },
      security: [{ [SECURITY_SCHEME]: [] }],
      tags: [
        {
          name: 'connectors',
          description: 'The APIs this server can reach, their endpoints and parameters.',
        },
        { name: 'operations', description: 'Health, readiness and metrics.' },
      ],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    transformStaticCSP: localOnlyCsp,
    uiConfig: { deepLinking: true },
  });
}
