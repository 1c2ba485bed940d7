import * as z from 'zod';
import type { Connector, Endpoint, Param } from '../../../core/connector/model.js';
import { ITEM_TYPES } from '../../../core/connector/schema.js';

/**
 * The public JSON of a connector: snake_case, as the system connectr replaces named its
 * fields, and stable. Built field by field from the definition (never by spreading it), and
 * the response schemas below strip anything not declared, so an environment variable name, a
 * host override, a client id or a secret param's default can never reach a caller.
 */

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

export const ParamShape = z.object({
  name: z.string().describe('The key to use in `params` when calling the endpoint.'),
  type: z.enum(['string', 'integer', 'number', 'boolean', 'array', 'object', 'file']),
  items: z.enum(ITEM_TYPES).optional().describe('Element type of an array.'),
  required: z.boolean().describe('True when the call fails without it (it has no default).'),
  location: z
    .enum(['path', 'query', 'header', 'body', 'form', 'json_header', 'raw'])
    .describe('Where the value goes in the upstream request.'),
  description: z.string().optional(),
  enum: z.array(Scalar).optional().describe('The only values accepted.'),
  default: z
    .unknown()
    .optional()
    .describe('The value used when none is given (never shown for secret params).'),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  secret: z.boolean().describe('A secret value: redacted wherever connectr shows requests.'),
});

export const EndpointShape = z.object({
  name: z.string(),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']),
  host: z.string().describe('The key of the connector host the path is on.'),
  path: z.string().describe('Path template; {key} is filled from the path params.'),
  summary: z.string(),
  description: z.string().optional(),
  docs_url: z.string().optional(),
  deprecated: z.boolean(),
  scopes: z.array(z.string()).describe('OAuth scopes the endpoint needs (any of them).'),
  params: z.array(ParamShape),
  pagination: z
    .object({ style: z.enum(['page_token', 'cursor', 'next_link', 'link_header', 'offset']) })
    .nullable()
    .describe('How the endpoint pages; null when it does not.'),
  response_kind: z.enum(['json', 'text', 'binary', 'auto']).describe('What the endpoint answers with.'),
});

export const ConnectorSummaryShape = z.object({
  name: z.string().describe('The connector type, as `connector_type` in connections.'),
  display_name: z.string(),
  description: z.string(),
  version: z.string().describe('Version of the definition.'),
  docs_url: z.string(),
  auth_type: z.enum(['oauth2', 'api_key', 'basic', 'none']),
  scopes: z.array(z.string()).describe('OAuth scopes requested by default (empty for other auth types).'),
  endpoint_count: z.number().int(),
});

export const ConnectorShape = ConnectorSummaryShape.extend({
  auth: z
    .object({
      type: z.enum(['oauth2', 'api_key', 'basic', 'none']),
      grants: z.array(z.string()).optional().describe('OAuth 2.0 grants the provider supports.'),
      scopes: z.array(z.string()),
      pkce: z.boolean().optional(),
    })
    .describe('How connections of this connector authenticate upstream.'),
  hosts: z
    .array(z.object({ name: z.string(), url: z.string() }))
    .describe('The base URLs the definition declares; the raw proxy reaches only these.'),
  endpoints: z.array(EndpointShape),
});

export type ConnectorSummaryJson = z.infer<typeof ConnectorSummaryShape>;
export type ConnectorJson = z.infer<typeof ConnectorShape>;
export type EndpointJson = z.infer<typeof EndpointShape>;

function scopesOf(connector: Connector): string[] {
  return connector.auth.type === 'oauth2' ? [...connector.auth.scopes] : [];
}

export function connectorSummaryJson(connector: Connector): ConnectorSummaryJson {
  return {
    name: connector.name,
    display_name: connector.displayName,
    description: connector.description,
    version: String(connector.version),
    docs_url: connector.docsUrl,
    auth_type: connector.auth.type,
    scopes: scopesOf(connector),
    endpoint_count: connector.endpoints.length,
  };
}

export function connectorJson(connector: Connector): ConnectorJson {
  const auth = connector.auth;
  return {
    ...connectorSummaryJson(connector),
    auth:
      auth.type === 'oauth2'
        ? { type: auth.type, grants: [...auth.grants], scopes: [...auth.scopes], pkce: auth.pkce }
        : { type: auth.type, scopes: [] },
    hosts: connector.hosts.map((h) => ({ name: h.key, url: h.url })),
    endpoints: connector.endpoints.map(endpointJson),
  };
}

export function endpointJson(endpoint: Endpoint): EndpointJson {
  return {
    name: endpoint.name,
    method: endpoint.method,
    host: endpoint.host,
    path: endpoint.path,
    summary: endpoint.summary,
    ...(endpoint.description === undefined ? {} : { description: endpoint.description }),
    ...(endpoint.docs_url === undefined ? {} : { docs_url: endpoint.docs_url }),
    deprecated: endpoint.deprecated ?? false,
    scopes: [...(endpoint.scopes ?? [])],
    params: endpoint.params.map(paramJson),
    pagination: endpoint.pagination ? { style: endpoint.pagination.style } : null,
    response_kind: endpoint.response?.encoding ?? 'auto',
  };
}

function paramJson(param: Param): z.infer<typeof ParamShape> {
  return {
    name: param.key,
    type: param.type,
    ...(param.items === undefined ? {} : { items: param.items }),
    required: param.required && param.default === undefined,
    location: param.in,
    ...(param.description === undefined ? {} : { description: param.description }),
    ...(param.enum === undefined ? {} : { enum: [...param.enum] }),
    ...(param.default === undefined || param.secret ? {} : { default: param.default }),
    ...(param.minimum === undefined ? {} : { minimum: param.minimum }),
    ...(param.maximum === undefined ? {} : { maximum: param.maximum }),
    secret: param.secret,
  };
}
