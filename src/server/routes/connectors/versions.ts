import * as z from 'zod';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import type { App, RouteContext } from '../../types.js';
import { ConnectorParams, requireConnector } from './name.js';

const VersionShape = z.object({
  version: z.number().int().describe('Give it as connector_version to POST or PATCH /connections.'),
  scopes: z
    .array(z.string())
    .describe('OAuth scopes this version asks for at sign-in (empty for other auth types).'),
  endpoint_count: z.number().int(),
});

const VersionList = z.object({
  connector: z.string(),
  newest: z.number().int().describe('The version a connection gets when none is given.'),
  versions: z.array(VersionShape).describe('Newest first.'),
});

/** `GET /api/v1/connectors/{name}/versions`: the versions of a connector this server loads. */
export function registerListVersions(app: App, { deps }: RouteContext): void {
  app.get(
    '/api/v1/connectors/:name/versions',
    {
      schema: {
        summary: 'List the versions of a connector',
        description:
          "Connections are pinned to one version (connector_version) and call that version's endpoints; PATCH /connections/{id} moves one.",
        tags: ['connectors'],
        params: ConnectorParams,
        response: { 200: VersionList, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const registry = await deps.registry();
      const newest = requireConnector(registry, request.params.name);
      return {
        connector: newest.name,
        newest: newest.version,
        versions: registry.versions(newest.name).map((c) => ({
          version: c.version,
          scopes: c.auth.type === 'oauth2' ? [...c.auth.scopes] : [],
          endpoint_count: c.endpoints.length,
        })),
      };
    },
  );
}
