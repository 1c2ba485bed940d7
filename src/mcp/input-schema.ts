import type { Endpoint, Param } from '../core/connector/model.js';

/**
 * An endpoint's arguments as the JSON Schema of an MCP tool's input: each param by its key,
 * with its type, array items, enum, default, range and description; the page cursor of a
 * paginated endpoint; base64 twins of body params (bytes an agent cannot give as text).
 */

export type JsonSchema = Record<string, unknown>;

/** The argument names the tool adds to an endpoint's own params. */
export interface ExtraArguments {
  /** The page cursor of a paginated endpoint (`cursor`, unless a param has that key). */
  readonly cursor?: string | undefined;
  /** The base64 form of each raw param, by param key. */
  readonly base64: ReadonlyMap<string, string>;
  /** The connection to call with, when the caller did not choose one for the session. */
  readonly connection?: string | undefined;
}

export function extraArguments(endpoint: Endpoint, withConnection: boolean): ExtraArguments {
  const taken = new Set(endpoint.params.map((p) => p.key));
  const free = (name: string): string => {
    let candidate = name;
    while (taken.has(candidate)) candidate = `_${candidate}`;
    taken.add(candidate);
    return candidate;
  };
  const base64 = new Map<string, string>();
  for (const param of endpoint.params)
    if (param.in === 'raw') base64.set(param.key, free(`${param.key}_base64`));
  return {
    cursor: endpoint.pagination ? free('cursor') : undefined,
    base64,
    connection: withConnection ? free('connection_id') : undefined,
  };
}

export function inputSchema(endpoint: Endpoint, extra: ExtraArguments): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const param of endpoint.params) {
    properties[param.key] = paramSchema(param, extra.base64.get(param.key));
    // A raw param may come as text or as base64: neither form alone is required.
    if (param.required && param.default === undefined && param.in !== 'raw') required.push(param.key);
  }
  for (const [key, name] of extra.base64) {
    properties[name] = {
      type: 'string',
      contentEncoding: 'base64',
      description: `The ${key} as base64-encoded bytes (instead of ${key} as text).`,
    };
  }
  if (extra.cursor)
    properties[extra.cursor] = {
      type: 'string',
      description: 'The next_cursor of the previous page, to get the page after it; omit for the first page.',
    };
  if (extra.connection) {
    properties[extra.connection] = {
      type: 'string',
      description: 'The connection to call with (conn_…), one of your project’s.',
    };
    required.push(extra.connection);
  }
  return {
    type: 'object',
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}

function paramSchema(param: Param, base64Name: string | undefined): JsonSchema {
  const schema: JsonSchema = {};
  const element: JsonSchema = {};
  switch (param.type) {
    case 'file':
      schema.type = 'string';
      break;
    case 'array':
      schema.type = 'array';
      element.type = param.items ?? 'string';
      schema.items = element;
      break;
    default:
      schema.type = param.type;
  }
  // Constraints of an array's elements belong to its items.
  const target = param.type === 'array' ? element : schema;
  if (param.enum) target.enum = [...param.enum];
  if (param.minimum !== undefined) target.minimum = param.minimum;
  if (param.maximum !== undefined) target.maximum = param.maximum;
  if (param.default !== undefined) schema.default = param.default;
  const notes = [param.description ?? ''];
  if (param.in === 'raw')
    notes.push(`The request body as text${base64Name ? `; for bytes give ${base64Name} instead` : ''}.`);
  const description = notes.filter(Boolean).join(' ');
  if (description) schema.description = description;
  return schema;
}
