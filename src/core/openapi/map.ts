import { ConnectrError } from '../errors.js';
import { HEADER_NAME, RESERVED_NAMES } from '../connector/schema.js';
import { defaultFlag } from '../connector/model.js';
import { connectorName, endpointKey, flagFor, paramKey, unique } from './names.js';
import { isObject, place } from './refs.js';
import type { Json, RefResolver } from './refs.js';
import { flatten, objectProperties, paramShape, schemaType } from './schema-types.js';
import { detectPagination } from './pagination.js';

/**
 * An OpenAPI 3.0/3.1 document (checked, `$ref`s verified) to a connector definition: plain data
 * in the format of docs/connectors.md, comments to put before some of its keys (review notes),
 * and the list of what the format cannot say.
 */

export interface MapOptions {
  /** The connector's name (default: from info.title). */
  readonly name?: string | undefined;
  /** Where the document came from, when it was a URL: relative server URLs resolve against it. */
  readonly documentUrl?: URL | undefined;
}

export interface Mapped {
  readonly connector: Json;
  /** Comment lines to put before the key at a path (keys joined by "\u0000"). */
  readonly comments: Map<string, string[]>;
  readonly unmapped: string[];
  readonly review: string[];
  readonly operations: number;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;
const SUPPORTED_METHODS: readonly string[] = ['get', 'put', 'post', 'delete', 'patch', 'head'];

export function commentKey(path: readonly string[]): string {
  return path.join('\u0000');
}

const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1).trimEnd()}…` : flat;
};

const firstParagraph = (text: string, max: number): string => oneLine(text.split(/\n\s*\n/)[0] ?? '', max);

const isHttpUrl = (value: unknown): value is string => {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
};

function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export function mapDocument(doc: Json, refs: RefResolver, options: MapOptions = {}): Mapped {
  const comments = new Map<string, string[]>();
  const unmapped: string[] = [];
  const review: string[] = [];
  const comment = (path: readonly string[], line: string): void => {
    const key = commentKey(path);
    comments.set(key, [...(comments.get(key) ?? []), line]);
  };
  const info = isObject(doc.info) ? doc.info : {};
  const title =
    typeof info.title === 'string' && info.title.trim() ? oneLine(info.title, 100) : 'Imported API';
  const name = options.name ?? connectorName(title);

  // Security first: whether any auth is used decides whether plain-http hosts are acceptable.
  const auth = mapAuth(doc, refs, unmapped, review, options);

  // Hosts: the document's servers, then servers of single paths or operations.
  const hosts: Json = {};
  const hostByUrl = new Map<string, string>();
  const addHost = (server: unknown, where: string[], fallbackKey: string): string | undefined => {
    const resolved = refs.resolve(server);
    if (!isObject(resolved) || typeof resolved.url !== 'string') return undefined;
    let url = serverUrl(resolved, where, options.documentUrl);
    if (url.protocol === 'http:' && !isLoopback(url) && auth.type !== 'none') {
      review.push(
        `${place(where)}: ${url.href} is plain http; connectr sends credentials only over https, so https is used`,
      );
      url = new URL(url.href.replace(/^http:/, 'https:'));
    }
    const text = url.href.replace(/\/+$/, '');
    const known = hostByUrl.get(text);
    if (known) return known;
    const key = unique(fallbackKey, hostByUrl.size === 0 ? new Set<string>() : new Set(Object.keys(hosts)));
    const description =
      typeof resolved.description === 'string' ? oneLine(resolved.description, 200) : undefined;
    hosts[key] = description ? { url: text, description } : text;
    hostByUrl.set(text, key);
    return key;
  };
  const servers = Array.isArray(doc.servers) ? doc.servers : [];
  if (servers.length === 0) {
    if (!options.documentUrl) {
      throw new ConnectrError(
        'invalid_input',
        'the document has no servers, so connectr cannot tell where the API lives',
        {
          hint: 'add `servers: [{url: https://api.example.com}]` to the document, or import it from its URL',
        },
      );
    }
    addHost({ url: '/' }, ['servers'], 'api');
  }
  servers.forEach((server, i) => addHost(server, ['servers', String(i)], 'api'));
  if (servers.length > 1) {
    review.push(
      `hosts: the document lists ${servers.length} servers; endpoints use the first (api), the others are kept as hosts to switch to`,
    );
  }

  // Endpoints.
  const endpoints: Json = {};
  const taken = new Set<string>();
  let operations = 0;
  const paths = isObject(doc.paths) ? doc.paths : {};
  for (const [path, itemIn] of Object.entries(paths)) {
    const item = refs.resolve(itemIn);
    if (!isObject(item)) continue;
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      operations++;
      const where = ['paths', path, method];
      if (!SUPPORTED_METHODS.includes(method)) {
        unmapped.push(`${place(where)}: connectr has no ${method.toUpperCase()} endpoints`);
        continue;
      }
      const fallback = `${method}_${path}`;
      const wanted =
        typeof op.operationId === 'string'
          ? endpointKey(op.operationId, fallback)
          : endpointKey(fallback, 'endpoint');
      const key = unique(wanted, taken);
      taken.add(key);
      if (key !== wanted)
        review.push(`endpoints.${key}: ${place(where)} would also be named "${wanted}"; renamed`);
      const serverList =
        Array.isArray(op.servers) && op.servers.length > 0
          ? op.servers
          : Array.isArray(item.servers) && item.servers.length > 0
            ? item.servers
            : undefined;
      const host = serverList
        ? addHost(serverList[0], [...where, 'servers', '0'], snakeHost(path))
        : undefined;
      const endpoint = mapOperation({
        path,
        method,
        op,
        item,
        where,
        refs,
        unmapped,
        review,
        comment,
        endpointPath: ['endpoints', key],
        auth,
      });
      if (!endpoint) continue;
      if (host && host !== Object.keys(hosts)[0]) endpoint.host = host;
      endpoints[key] = reorder(endpoint);
    }
  }
  if (Object.keys(endpoints).length === 0) {
    throw new ConnectrError('invalid_input', 'the document has no operation connectr can call', {
      hint: unmapped.length ? `not mapped: ${unmapped.slice(0, 3).join('; ')}` : 'its paths are empty',
    });
  }

  const externalDocs = isObject(doc.externalDocs) ? doc.externalDocs : {};
  const contact = isObject(info.contact) ? info.contact : {};
  let docsUrl: string;
  if (isHttpUrl(externalDocs.url)) docsUrl = externalDocs.url;
  else if (isHttpUrl(contact.url)) docsUrl = contact.url;
  else if (options.documentUrl) docsUrl = options.documentUrl.href;
  else {
    const first = Object.values(hosts)[0];
    docsUrl =
      typeof first === 'string'
        ? first
        : isObject(first) && typeof first.url === 'string'
          ? first.url
          : 'https://example.com';
    review.push('docs_url: the document names no documentation; the first host is used');
    comment(['docs_url'], 'review: the document names no documentation page; replace this URL');
  }
  const description =
    typeof info.summary === 'string' && info.summary.trim()
      ? oneLine(info.summary, 300)
      : typeof info.description === 'string' && info.description.trim()
        ? firstParagraph(info.description, 300)
        : `${title} (imported from its OpenAPI description).`;

  const connector: Json = {
    name,
    display_name: title,
    // The definition's own version, which connections pin (connector/versions.ts), not the API's.
    version: 1,
    docs_url: docsUrl,
    description,
    hosts,
    auth: auth.definition,
    endpoints,
  };
  if (typeof info.version === 'string' && info.version.trim())
    comment(['version'], `the API's own version: ${oneLine(info.version, 100)}`);
  for (const line of auth.comments) comment(['auth'], line);
  return { connector, comments, unmapped, review, operations };
}

function snakeHost(path: string): string {
  const key = endpointKey(path, 'host');
  return key.length > 30 ? key.slice(0, 30).replace(/_+$/, '') : key;
}

/** A server's URL with its variables' defaults, made absolute. */
function serverUrl(server: Json, where: string[], documentUrl: URL | undefined): URL {
  const variables = isObject(server.variables) ? server.variables : {};
  const raw = String(server.url).replace(/\{([^{}]*)\}/g, (whole, name: string) => {
    const variable = Object.hasOwn(variables, name) ? variables[name] : undefined;
    if (isObject(variable) && typeof variable.default === 'string') return variable.default;
    throw new ConnectrError(
      'invalid_input',
      `${place([...where, 'url'])}: server variable {${name}} has no default`,
      {
        hint: 'give the variable a default in the document',
      },
    );
  });
  try {
    return new URL(raw);
  } catch {
    // Relative: OpenAPI resolves it against the document's own URL.
  }
  if (!documentUrl) {
    throw new ConnectrError(
      'invalid_input',
      `${place([...where, 'url'])}: server URL "${raw}" is relative, and a file has no URL to resolve it against`,
      { hint: 'import the document from its URL, or write an absolute URL (https://...) in the document' },
    );
  }
  return new URL(raw, documentUrl);
}

interface AuthResult {
  readonly type: string;
  readonly definition: Json;
  /** Scheme name in the document, for endpoint scopes. */
  readonly scheme?: string;
  readonly comments: string[];
}

/** The one auth a connector has: the scheme most operations use that connectr can express. */
function mapAuth(
  doc: Json,
  refs: RefResolver,
  unmapped: string[],
  review: string[],
  options: MapOptions,
): AuthResult {
  const components = isObject(doc.components) ? doc.components : {};
  const schemes = isObject(components.securitySchemes) ? components.securitySchemes : {};
  const uses = new Map<string, number>();
  const count = (requirements: unknown): void => {
    if (!Array.isArray(requirements)) return;
    for (const req of requirements)
      if (isObject(req)) for (const n of Object.keys(req)) uses.set(n, (uses.get(n) ?? 0) + 1);
  };
  count(doc.security);
  const paths = isObject(doc.paths) ? doc.paths : {};
  for (const item of Object.values(paths)) {
    const resolved = refs.resolve(item);
    if (!isObject(resolved)) continue;
    for (const method of METHODS) {
      const op = resolved[method];
      if (isObject(op)) count(op.security);
    }
  }
  const candidates: { name: string; result: AuthResult }[] = [];
  for (const [schemeName, value] of Object.entries(schemes)) {
    const scheme = refs.resolve(value);
    if (!isObject(scheme)) continue;
    const where = ['components', 'securitySchemes', schemeName];
    const result = mapScheme(scheme, schemeName, where, doc, unmapped, options);
    if (result) candidates.push({ name: schemeName, result });
  }
  candidates.sort((a, b) => (uses.get(b.name) ?? 0) - (uses.get(a.name) ?? 0));
  const chosen = candidates[0];
  for (const other of candidates.slice(1)) {
    unmapped.push(
      `${place(['components', 'securitySchemes', other.name])}: a connector has one auth; "${chosen?.name ?? ''}" was chosen`,
    );
  }
  if (!chosen) {
    if (uses.size > 0 || Object.keys(schemes).length > 0) {
      review.push('auth: no security scheme of the document could be mapped; auth is none');
    }
    return {
      type: 'none',
      definition: { type: 'none' },
      comments:
        uses.size > 0
          ? ['review: the API asks for credentials connectr could not map (see the list above)']
          : [],
    };
  }
  return chosen.result;
}

function mapScheme(
  scheme: Json,
  schemeName: string,
  where: string[],
  doc: Json,
  unmapped: string[],
  options: MapOptions,
): AuthResult | undefined {
  const at = place(where);
  switch (scheme.type) {
    case 'apiKey': {
      if (scheme.in !== 'header' && scheme.in !== 'query') {
        unmapped.push(
          `${at}: an API key in a ${String(scheme.in)} (connectr sends keys in a header or the query)`,
        );
        return undefined;
      }
      if (typeof scheme.name !== 'string' || !scheme.name) return undefined;
      return {
        type: 'api_key',
        definition: { type: 'api_key', in: scheme.in, name: scheme.name },
        scheme: schemeName,
        comments: [],
      };
    }
    case 'http': {
      const kind = typeof scheme.scheme === 'string' ? scheme.scheme.toLowerCase() : '';
      if (kind === 'bearer') {
        return {
          type: 'api_key',
          definition: { type: 'api_key', in: 'header', name: 'Authorization', prefix: 'Bearer ' },
          scheme: schemeName,
          comments: [],
        };
      }
      if (kind === 'basic')
        return { type: 'basic', definition: { type: 'basic' }, scheme: schemeName, comments: [] };
      unmapped.push(`${at}: HTTP ${kind || '(no scheme)'} authentication (connectr does basic and bearer)`);
      return undefined;
    }
    case 'oauth2':
      return mapOAuth2(scheme, schemeName, where, doc, unmapped, options);
    case 'openIdConnect':
      unmapped.push(
        `${at}: OpenID Connect discovery (${String(scheme.openIdConnectUrl)}); write its authorization and token URLs as an oauth2 auth by hand`,
      );
      return undefined;
    default:
      unmapped.push(`${at}: security scheme type ${String(scheme.type)}`);
      return undefined;
  }
}

function mapOAuth2(
  scheme: Json,
  schemeName: string,
  where: string[],
  doc: Json,
  unmapped: string[],
  options: MapOptions,
): AuthResult | undefined {
  const flows = isObject(scheme.flows) ? scheme.flows : {};
  const base = firstServer(doc, options.documentUrl);
  const url = (value: unknown): string | undefined => {
    if (typeof value !== 'string' || !value) return undefined;
    try {
      return new URL(value, base).href;
    } catch {
      return undefined;
    }
  };
  const definition: Json = { type: 'oauth2' };
  const grants: string[] = [];
  const scopes = new Set<string>();
  const addScopes = (flow: Json): void => {
    if (isObject(flow.scopes)) for (const s of Object.keys(flow.scopes)) scopes.add(s);
  };
  const code = isObject(flows.authorizationCode) ? flows.authorizationCode : undefined;
  const client = isObject(flows.clientCredentials) ? flows.clientCredentials : undefined;
  // OpenAPI 3.2 adds the device authorization flow (RFC 8628); 3.0 and 3.1 documents have none.
  const device = isObject(flows.deviceAuthorization) ? flows.deviceAuthorization : undefined;
  if (code && url(code.authorizationUrl) && url(code.tokenUrl)) {
    grants.push('authorization_code');
    definition.authorization_url = url(code.authorizationUrl);
    definition.token_url = url(code.tokenUrl);
    addScopes(code);
  }
  if (device && url(device.deviceAuthorizationUrl) && url(device.tokenUrl)) {
    grants.push('device_code');
    definition.device_authorization_url = url(device.deviceAuthorizationUrl);
    definition.token_url ??= url(device.tokenUrl);
    addScopes(device);
  }
  if (client && url(client.tokenUrl)) {
    const token = url(client.tokenUrl);
    if (definition.token_url === undefined || definition.token_url === token) {
      grants.push('client_credentials');
      definition.token_url = token;
      addScopes(client);
    } else {
      unmapped.push(
        `${place([...where, 'flows', 'clientCredentials'])}: its token URL differs from the authorization code flow's`,
      );
    }
  }
  for (const flow of ['implicit', 'password']) {
    if (isObject(flows[flow]))
      unmapped.push(
        `${place([...where, 'flows', flow])}: the OAuth ${flow} flow (connectr does authorization code with PKCE, device code and client credentials)`,
      );
  }
  if (grants.length === 0) return undefined;
  definition.grants = grants;
  // Scopes requested by default: those the document's top-level security asks for.
  const required = new Set<string>();
  if (Array.isArray(doc.security)) {
    for (const req of doc.security) {
      if (isObject(req) && Array.isArray(req[schemeName]))
        for (const s of req[schemeName]) if (typeof s === 'string' && s) required.add(s);
    }
  }
  definition.scopes = [...required];
  const lines = [
    `review: PKCE (S256) is on, as connectr does by default; set "pkce: false" if the provider refuses it`,
  ];
  if (scopes.size > 0) {
    const listed = [...scopes];
    const shown = listed.slice(0, 40).join(', ');
    lines.push(
      `scopes the document defines: ${shown}${listed.length > 40 ? `, ... (${listed.length} in all)` : ''}`,
    );
  }
  return { type: 'oauth2', definition, scheme: schemeName, comments: lines };
}

function firstServer(doc: Json, documentUrl: URL | undefined): URL | undefined {
  const servers: unknown[] = Array.isArray(doc.servers) ? doc.servers : [];
  const first = servers[0];
  if (!isObject(first) || typeof first.url !== 'string') return documentUrl;
  try {
    return serverUrl(first, ['servers', '0'], documentUrl);
  } catch {
    return documentUrl;
  }
}

interface OperationContext {
  readonly path: string;
  readonly method: string;
  readonly op: Json;
  readonly item: Json;
  readonly where: string[];
  readonly refs: RefResolver;
  readonly unmapped: string[];
  readonly review: string[];
  readonly comment: (path: readonly string[], line: string) => void;
  readonly endpointPath: string[];
  readonly auth: AuthResult;
}

const ENDPOINT_ORDER = [
  'summary',
  'description',
  'docs_url',
  'method',
  'host',
  'path',
  'params',
  'request',
  'response',
  'pagination',
  'scopes',
  'deprecated',
];

function reorder(endpoint: Json): Json {
  const out: Json = {};
  for (const key of ENDPOINT_ORDER) if (endpoint[key] !== undefined) out[key] = endpoint[key];
  return out;
}

function mapOperation(ctx: OperationContext): Json | undefined {
  const { op, item, where, refs, unmapped, review } = ctx;
  const method = ctx.method.toUpperCase();
  const summary =
    typeof op.summary === 'string' && op.summary.trim()
      ? oneLine(op.summary, 200)
      : typeof op.description === 'string' && op.description.trim()
        ? firstParagraph(op.description, 200)
        : `${method} ${ctx.path}`;
  const endpoint: Json = { summary, method, path: ctx.path };
  if (typeof op.description === 'string' && op.description.trim() && op.summary) {
    endpoint.description = firstParagraph(op.description, 500);
  }
  const docs = isObject(op.externalDocs) ? op.externalDocs.url : undefined;
  if (isHttpUrl(docs)) endpoint.docs_url = docs;
  if (op.deprecated === true) endpoint.deprecated = true;

  const params: Json = {};
  const flags = new Set<string>();
  const wire = new Set<string>();
  const addParam = (wanted: string, definition: Json): string => {
    const key = unique(wanted, new Set(Object.keys(params)));
    const flag = flagFor(key, flags);
    if (flag) definition.flag = flag;
    flags.add(flag ?? defaultFlag(key));
    params[key] = definition;
    return key;
  };

  // Parameters: the operation's replace the path item's of the same name and place.
  const declared = new Map<string, Json>();
  for (const list of [item.parameters, op.parameters]) {
    if (!Array.isArray(list)) continue;
    for (const p of list) {
      const param = refs.resolve(p);
      if (isObject(param) && typeof param.name === 'string' && typeof param.in === 'string')
        declared.set(`${param.in}:${param.name}`, param);
    }
  }
  const placeholders = [...ctx.path.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1] ?? '');
  const pathKeys = new Map<string, string>();
  for (const param of declared.values()) {
    const wireName = String(param.name);
    const location = String(param.in);
    const pwhere = place([...where, 'parameters', `${location}:${wireName}`]);
    if (location === 'cookie') {
      unmapped.push(`${pwhere}: a cookie parameter (connectr sends path, query and header params)`);
      continue;
    }
    if (location !== 'path' && location !== 'query' && location !== 'header') continue;
    if (RESERVED_NAMES.includes(wireName)) {
      unmapped.push(
        `${pwhere}: the name "${wireName}" is reserved (it names a member of every JavaScript object)`,
      );
      continue;
    }
    if (location === 'header' && !HEADER_NAME.test(wireName)) {
      unmapped.push(`${pwhere}: "${wireName}" is not a valid header name`);
      continue;
    }
    if (location === 'path' && !placeholders.includes(wireName)) continue;
    const schema = isObject(param.schema) ? param.schema : firstContentSchema(param.content);
    const shape = paramShape(schema, refs);
    const definition: Json = { in: location };
    if (
      location === 'path' &&
      shape.type !== 'string' &&
      shape.type !== 'integer' &&
      shape.type !== 'number' &&
      shape.type !== 'boolean'
    ) {
      shape.type = 'string';
      delete shape.items;
      delete shape.enum;
      delete shape.default;
      review.push(`${pwhere}: a path param that is not a scalar is sent as text`);
    }
    if (location !== 'path' && shape.type === 'object') {
      const style = typeof param.style === 'string' ? param.style : 'form';
      if (location === 'query' && (style === 'deepObject' || param.explode !== false)) {
        unmapped.push(
          `${pwhere}: an object ${location} param (${style} style); send it with --param ${wireName}[key]=value`,
        );
        continue;
      }
    }
    if (
      shape.type === 'array' &&
      location === 'query' &&
      (param.explode === false || (typeof param.style === 'string' && param.style !== 'form'))
    ) {
      review.push(
        `${pwhere}: the API wants this array ${typeof param.style === 'string' ? param.style : 'form'}-style without explode; connectr repeats the key`,
      );
    }
    applyShape(definition, shape);
    if (param.required === true || location === 'path') definition.required = true;
    const text =
      typeof param.description === 'string'
        ? param.description
        : isObject(schema) && typeof schema.description === 'string'
          ? schema.description
          : '';
    if (text.trim()) definition.description = firstParagraph(text, 200);
    const key = paramKey(wireName);
    const finalKey = addParam(key, definition);
    if (finalKey !== wireName) definition.name = wireName;
    wire.add(`${location}:${wireName}`);
    if (location === 'path') pathKeys.set(wireName, finalKey);
    for (const d of shape.dropped) review.push(`${pwhere}: ${d}`);
  }
  // The path's placeholders are renamed with their params' keys; one without a declaration is
  // a string param the document forgot (its validator refuses that, but be safe).
  const path = ctx.path.replace(/\{([^{}]*)\}/g, (_whole, name: string) => {
    let key = pathKeys.get(name);
    if (!key) {
      key = addParam(paramKey(name), { in: 'path', required: true });
      if (key !== name) (params[key] as Json).name = name;
      pathKeys.set(name, key);
    }
    return `{${key}}`;
  });
  endpoint.path = path;

  // Request body.
  const body = refs.resolve(op.requestBody);
  if (isObject(body) && isObject(body.content)) {
    const bwhere = [...where, 'requestBody'];
    if (method === 'GET' || method === 'HEAD') {
      unmapped.push(`${place(bwhere)}: a ${method} request with a body (connectr sends none)`);
    } else {
      mapBody(body, bwhere, ctx, endpoint, params, addParam, wire);
    }
  }

  if (Object.keys(params).length > 0) endpoint.params = params;

  // Responses.
  const kinds = responseKinds(op, refs);
  if (kinds.size === 1) endpoint.response = { encoding: [...kinds][0] };
  else if (kinds.size > 1) endpoint.response = { encoding: 'auto' };

  // Scopes this operation needs from the chosen OAuth scheme.
  if (ctx.auth.type === 'oauth2' && ctx.auth.scheme && Array.isArray(op.security)) {
    const scopes = new Set<string>();
    for (const req of op.security) {
      if (isObject(req) && Array.isArray(req[ctx.auth.scheme]))
        for (const s of req[ctx.auth.scheme] as unknown[]) if (typeof s === 'string' && s) scopes.add(s);
    }
    if (scopes.size > 0) endpoint.scopes = [...scopes];
  }

  const pagination = detectPagination({ method, op, refs, params });
  if (pagination) {
    if (pagination.definition) endpoint.pagination = pagination.definition;
    ctx.comment(
      [...ctx.endpointPath, pagination.definition ? 'pagination' : 'summary'],
      `review: ${pagination.note}`,
    );
    review.push(`${ctx.endpointPath.join('.')}: ${pagination.note}`);
  }
  return endpoint;
}

function applyShape(definition: Json, shape: ReturnType<typeof paramShape>): void {
  if (shape.type !== 'string') definition.type = shape.type;
  if (shape.items) definition.items = shape.items;
  if (shape.enum) definition.enum = shape.enum;
  if (shape.default !== undefined) definition.default = shape.default;
  if (shape.minimum !== undefined) definition.minimum = shape.minimum;
  if (shape.maximum !== undefined) definition.maximum = shape.maximum;
}

function firstContentSchema(content: unknown): unknown {
  if (!isObject(content)) return undefined;
  const first = Object.values(content)[0];
  return isObject(first) ? first.schema : undefined;
}

const isJsonType = (type: string): boolean =>
  /^application\/(?:[\w.+-]+\+)?json(?:;|$)/i.test(type) || type === '*/*';

function mapBody(
  body: Json,
  bwhere: string[],
  ctx: OperationContext,
  endpoint: Json,
  params: Json,
  addParam: (key: string, definition: Json) => string,
  wire: Set<string>,
): void {
  const { refs, unmapped, review } = ctx;
  const content = body.content as Json;
  const types = Object.keys(content);
  const lower = types.map((t) => t.toLowerCase());
  const pick =
    types[lower.findIndex((t) => isJsonType(t) && t !== '*/*')] ??
    types[lower.findIndex((t) => t.startsWith('application/x-www-form-urlencoded'))] ??
    types[lower.findIndex((t) => t.startsWith('multipart/'))] ??
    types[0];
  if (pick === undefined) return;
  for (const other of types) {
    if (other !== pick)
      review.push(
        `${place([...bwhere, 'content', other])}: the body is also accepted as ${other}; connectr sends ${pick}`,
      );
  }
  const media = content[pick];
  const schema = isObject(media) ? media.schema : undefined;
  const type = pick.toLowerCase();
  const required = body.required === true;
  const description =
    typeof body.description === 'string' ? firstParagraph(body.description, 200) : undefined;
  const bodyAt = place([...bwhere, 'content', pick]);
  if (type.startsWith('multipart/')) {
    unmapped.push(`${bodyAt}: a multipart body (connectr sends JSON, form, text or binary bodies)`);
    return;
  }
  if (isJsonType(type) || type.startsWith('application/x-www-form-urlencoded')) {
    const form = type.startsWith('application/x-www-form-urlencoded');
    const object = objectProperties(schema, refs);
    if (!object || object.properties.length === 0) {
      // An array, a scalar, a map or a oneOf: the whole body, given with --body.
      endpoint.request = {
        encoding: form ? 'form' : 'json',
        ...(pick !== 'application/json' && !form ? { content_type: pick } : {}),
      };
      const kind = schemaType(flatten(schema, refs)) ?? 'JSON value';
      review.push(
        `${ctx.endpointPath.join('.')}: the body is ${kind === 'array' ? 'an array' : `a ${kind}`}; pass it whole with --body`,
      );
      ctx.comment(
        [...ctx.endpointPath, 'request'],
        `review: the body is ${kind === 'array' ? 'an array' : `a ${kind}`}; pass it whole with --body '<json>'`,
      );
      return;
    }
    let mapped = 0;
    for (const [prop, propSchema] of object.properties) {
      if (propSchema.readOnly === true) continue;
      const pwhere = place([...bwhere, 'content', pick, 'schema', 'properties', prop]);
      if (RESERVED_NAMES.includes(prop)) {
        unmapped.push(
          `${pwhere}: the name "${prop}" is reserved (it names a member of every JavaScript object)`,
        );
        continue;
      }
      const shape = paramShape(propSchema, refs);
      if (form && shape.type === 'object') {
        unmapped.push(`${pwhere}: a nested object in a form body`);
        continue;
      }
      const location = form ? 'form' : 'body';
      const definition: Json = { in: location };
      applyShape(definition, shape);
      if (object.required.has(prop) && required) definition.required = true;
      if (typeof propSchema.description === 'string' && propSchema.description.trim())
        definition.description = firstParagraph(propSchema.description, 200);
      const wanted = paramKey(prop);
      const key = addParam(Object.hasOwn(params, wanted) ? `${wanted}_body` : wanted, definition);
      if (!form && prop.includes('.')) definition.field = [prop];
      else if (key !== prop) definition.name = prop;
      wire.add(`${location}:${prop}`);
      mapped++;
      for (const d of shape.dropped) review.push(`${pwhere}: ${d}`);
    }
    if (mapped > 0 && !form && pick.toLowerCase() !== 'application/json')
      endpoint.request = { encoding: 'json', content_type: pick };
    return;
  }
  // Anything else is the whole body: text, or bytes from a file.
  const text = type.startsWith('text/') || type === 'application/xml' || type.endsWith('+xml');
  const definition: Json = { in: 'raw', type: text ? 'string' : 'file' };
  if (required) definition.required = true;
  definition.description =
    description ?? (text ? `the ${pick} body` : `the ${pick} body: a file path, or - for stdin`);
  addParam(text ? 'content' : 'file', definition);
  endpoint.request = { encoding: text ? 'text' : 'binary', content_type: pick };
}

function responseKinds(op: Json, refs: RefResolver): Set<string> {
  const responses = isObject(op.responses) ? op.responses : {};
  const codes = Object.keys(responses);
  const success = codes.filter((c) => /^2(\d\d|XX)$/i.test(c));
  const chosen = success.length > 0 ? success : codes.filter((c) => c === 'default');
  const kinds = new Set<string>();
  for (const code of chosen) {
    const response = refs.resolve(responses[code]);
    if (!isObject(response) || !isObject(response.content)) continue;
    for (const type of Object.keys(response.content)) {
      const t = type.toLowerCase();
      if (isJsonType(t) && t !== '*/*') kinds.add('json');
      else if (t.startsWith('text/') || t === 'application/xml' || t.endsWith('+xml')) kinds.add('text');
      else if (t === '*/*') kinds.add('auto');
      else kinds.add('binary');
    }
  }
  if (kinds.has('auto')) return new Set(['auto']);
  return kinds;
}
