import * as z from 'zod';

/**
 * The connector definition format. One zod schema is the single source of truth: it validates
 * YAML files, types the engine, and is exported as JSON Schema for editors
 * (`connectr connectors schema`). Every object is strict so a misspelt field is an error, not
 * a silently ignored line.
 */

/** A string that must match `pattern`; `expected` completes "expected ..." in error messages. */
const matching = (pattern: RegExp, expected: string): z.ZodString =>
  z.string().regex(pattern, { message: expected });

/**
 * Names that would reach Object.prototype if they became object keys (a body field
 * `__proto__.polluted` once polluted every object): refused wherever a definition names a key.
 */
export const RESERVED_NAMES: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** `schema`, refusing the reserved names with a message that says why. */
const notReserved = (schema: z.ZodString): z.ZodString =>
  schema.refine((name) => !RESERVED_NAMES.includes(name), {
    error: (issue) =>
      `"${String(issue.input)}" is reserved (it names a member of every JavaScript object); choose another name`,
  });

const connectorName = (): z.ZodString =>
  matching(
    /^[a-z][a-z0-9_-]*$/,
    'a name of lowercase letters, digits, "-" and "_" that starts with a letter',
  );
const identifier = (): z.ZodString =>
  notReserved(
    matching(
      /^[A-Za-z_][A-Za-z0-9_]*$/,
      'an identifier of letters, digits and "_" that does not start with a digit',
    ),
  );
const endpointName = (): z.ZodString =>
  notReserved(
    matching(/^[a-z][a-z0-9_]*$/, 'a name of lowercase letters, digits and "_" that starts with a letter'),
  );
const envName = (): z.ZodString =>
  matching(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name of A-Z, 0-9 and "_"');
const flagName = (): z.ZodString =>
  matching(/^[a-z][a-z0-9-]*$/, 'a flag name of lowercase letters, digits and "-" (without the leading --)');
export const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const headerName = (): z.ZodString => matching(HEADER_NAME, 'an HTTP header name');

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
export const PARAM_LOCATIONS = ['path', 'query', 'header', 'body', 'form', 'json_header', 'raw'] as const;
export const PARAM_TYPES = ['string', 'integer', 'number', 'boolean', 'array', 'object', 'file'] as const;
export const SCALAR_TYPES = ['string', 'integer', 'number', 'boolean'] as const;
export const ITEM_TYPES = [...SCALAR_TYPES, 'object'] as const;
export const REQUEST_ENCODINGS = ['json', 'form', 'binary', 'text', 'none'] as const;
export const RESPONSE_ENCODINGS = ['json', 'text', 'binary', 'auto'] as const;

const nonEmpty = z.string().min(1);

/** A place in a JSON document: `error.message`, or a list of keys when a key holds a dot. */
export const JsonPathSchema = z
  .union([
    notReserved(nonEmpty).refine((path) => !path.split('.').some((key) => RESERVED_NAMES.includes(key)), {
      error: (issue) =>
        `"${String(issue.input)}" has a reserved key (__proto__, constructor or prototype); choose another name`,
    }),
    z.array(notReserved(nonEmpty)).min(1),
  ])
  .describe(
    'A path into a JSON document: dotted keys ("error.message") or a list of keys when a key contains a dot (["@odata.nextLink"]).',
  );
export type JsonPath = z.infer<typeof JsonPathSchema>;

const HostSchema = z.union([
  z.url({ protocol: /^https?$/ }).describe('Base URL of this host.'),
  z.strictObject({
    url: z.url({ protocol: /^https?$/ }).describe('Base URL of this host.'),
    env: envName()
      .optional()
      .describe(
        'Environment variable that overrides the URL (default CONNECTR_<CONNECTOR>_<HOST>_BASE_URL).',
      ),
    description: z.string().optional(),
  }),
]);
export type HostDefinition = z.infer<typeof HostSchema>;

const ScalarValue = z.union([z.string(), z.number(), z.boolean()]);

export const ParamSchema = z
  .strictObject({
    in: z
      .enum(PARAM_LOCATIONS)
      .describe(
        'Where the value goes: path (template placeholder), query, header, body (JSON body field), form (urlencoded body field), json_header (field of the JSON-argument header named by request.json_header), raw (the whole request body).',
      ),
    type: z.enum(PARAM_TYPES).default('string'),
    items: z
      .enum(ITEM_TYPES)
      .optional()
      .describe('Type of each element when type is array (object: each a JSON object).'),
    required: z.boolean().default(false),
    default: z.unknown().optional().describe('Value used when the caller gives none.'),
    enum: z.array(ScalarValue).min(1).optional().describe('The only values accepted.'),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    description: z.string().optional(),
    name: notReserved(nonEmpty)
      .optional()
      .describe('Name on the wire when it differs from the key (e.g. "$top", "labelIds").'),
    field: JsonPathSchema.optional().describe(
      'For body / json_header params: where in the JSON object the value goes (e.g. options.max_results). Defaults to the wire name.',
    ),
    flag: flagName()
      .optional()
      .describe('CLI flag name (without --) when the default kebab-case of the key clashes.'),
    style: z
      .enum(['segment', 'path', 'odata_string'])
      .optional()
      .describe(
        'Path params: segment escapes "/" (default); path keeps "/" between escaped segments (OneDrive item paths); odata_string doubles single quotes for use inside an OData string literal.',
      ),
    aliases: z
      .record(z.string(), ScalarValue)
      .optional()
      .describe(
        'Input values replaced before sending, e.g. {"/": ""} because Dropbox names its root folder "" while users type /.',
      ),
    secret: z
      .boolean()
      .default(false)
      .describe('Redacted in --dry-run and logs (passwords, tokens passed as params).'),
  })
  .describe('A parameter of an endpoint.');
export type ParamDefinition = z.infer<typeof ParamSchema>;

const PageTokenPagination = z.strictObject({
  style: z.literal('page_token'),
  request_param: identifier().describe('Key of the param that carries the token on the next request.'),
  response_path: JsonPathSchema.describe('Where the next token is in the response.'),
  items_path: JsonPathSchema.describe('Where the page items are in the response.'),
});

const CursorPagination = z.strictObject({
  style: z.literal('cursor'),
  continue_endpoint: endpointName().describe('Endpoint that returns the next page given the cursor.'),
  continue_param: identifier()
    .default('cursor')
    .describe('Param of the continue endpoint that takes the cursor.'),
  cursor_path: JsonPathSchema.describe('Where the cursor is in the response.'),
  has_more_path: JsonPathSchema.describe('Boolean in the response: true while pages remain.'),
  items_path: JsonPathSchema,
});

const NextLinkPagination = z.strictObject({
  style: z.literal('next_link'),
  next_path: JsonPathSchema.describe('Where the absolute URL of the next page is.'),
  items_path: JsonPathSchema,
});

const LinkHeaderPagination = z.strictObject({
  style: z.literal('link_header'),
  rel: z.string().default('next'),
  items_path: JsonPathSchema.optional().describe('Omit when the response is a JSON array.'),
});

const OffsetPagination = z.strictObject({
  style: z.literal('offset'),
  offset_param: identifier(),
  limit_param: identifier(),
  items_path: JsonPathSchema.optional().describe('Omit when the response is a JSON array.'),
  total_path: JsonPathSchema.optional().describe('Total item count, when the API reports it.'),
});

export const PaginationSchema = z.discriminatedUnion('style', [
  PageTokenPagination,
  CursorPagination,
  NextLinkPagination,
  LinkHeaderPagination,
  OffsetPagination,
]);
export type PaginationDefinition = z.infer<typeof PaginationSchema>;

const RequestSchema = z.strictObject({
  encoding: z
    .enum(REQUEST_ENCODINGS)
    .optional()
    .describe(
      'Body encoding. Default: json when body params exist, form for form params, binary for a raw param, else none.',
    ),
  content_type: nonEmpty.optional().describe('Content-Type to send with the body.'),
  json_header: headerName()
    .optional()
    .describe('Header that carries the json_header params as JSON (e.g. Dropbox-API-Arg).'),
});

const ResponseSchema = z.strictObject({
  encoding: z.enum(RESPONSE_ENCODINGS).default('auto'),
  result_header: headerName()
    .optional()
    .describe('Response header that carries the JSON result (e.g. Dropbox-API-Result).'),
});

export const UploadSessionSchema = z.strictObject({
  protocol: z
    .enum(['dropbox', 'graph', 'google', 'slack'])
    .describe(
      'dropbox: start/append/finish endpoints with a session cursor; graph: createUploadSession then Content-Range PUTs to uploadUrl; google: a resumable session (the start endpoint answers its URI in Location) then Content-Range PUTs, 308 with Range until the last; slack: the start endpoint (given `length`) answers upload_url and file_id, the bytes are POSTed there whole, then the finish endpoint is given `files` = [{id, title}].',
    ),
  threshold: z
    .int()
    .nonnegative()
    .describe('Bodies larger than this many bytes (or of unknown size) use the session; 0: every body.'),
  chunk_size: z.int().positive().describe('Bytes per chunk.'),
  chunk_multiple: z
    .int()
    .positive()
    .optional()
    .describe('Chunk sizes must be a multiple of this (Graph: 327680).'),
  start: endpointName().describe('Endpoint that opens the session.'),
  append: endpointName().optional(),
  finish: endpointName().optional(),
});
export type UploadSessionDefinition = z.infer<typeof UploadSessionSchema>;

export const EndpointSchema = z.strictObject({
  summary: nonEmpty.describe('One line shown in lists and --help.'),
  description: z.string().optional(),
  docs_url: z.url().optional(),
  method: z.enum(HTTP_METHODS),
  host: endpointName()
    .optional()
    .describe('Key of the host this endpoint is on; defaults to the first host.'),
  path: z
    .string()
    .startsWith('/', { message: 'path must start with "/"' })
    .describe('Path template; {key} is replaced by the path param of that key.'),
  params: z.record(identifier(), ParamSchema).default({}),
  headers: z.record(headerName(), z.string()).optional().describe('Fixed headers sent with every request.'),
  request: RequestSchema.optional(),
  response: ResponseSchema.optional(),
  pagination: PaginationSchema.optional(),
  scopes: z.array(nonEmpty).optional().describe('OAuth scopes this endpoint needs (any of).'),
  idempotent: z
    .boolean()
    .optional()
    .describe(
      'Safe to retry after a failure that may have reached the server. Default: true for GET, HEAD, PUT, DELETE.',
    ),
  upload_session: UploadSessionSchema.optional(),
  deprecated: z.boolean().optional(),
  destructive: z
    .boolean()
    .optional()
    .describe(
      'Deletes or overwrites what cannot be had back (an agent is told to confirm first). Default: true for DELETE.',
    ),
});
export type EndpointDefinition = z.infer<typeof EndpointSchema>;

const RedirectSchema = z.strictObject({
  host: z
    .enum(['127.0.0.1', 'localhost', '[::1]'])
    .default('127.0.0.1')
    .describe('Host of the loopback redirect URI the provider expects.'),
  port: z
    .int()
    .min(1)
    .max(65535)
    .optional()
    .describe('Fixed port, for providers that need an exact registered redirect URI.'),
  path: z.string().startsWith('/').default('/callback'),
});

const OAuth2Schema = z.strictObject({
  type: z.literal('oauth2'),
  grants: z
    .array(z.enum(['authorization_code', 'device_code', 'client_credentials']))
    .min(1)
    .default(['authorization_code']),
  authorization_url: z.url().optional(),
  token_url: z.url(),
  revocation_url: z.url().optional(),
  revocation_style: z
    .enum(['rfc7009', 'bearer'])
    .default('rfc7009')
    .describe('rfc7009: POST token=... (Google); bearer: POST with the token as bearer (Dropbox).'),
  device_authorization_url: z.url().optional(),
  scopes: z.array(nonEmpty).default([]).describe('Scopes requested by default.'),
  scope_separator: z.string().default(' '),
  granted_scope_separator: z
    .string()
    .optional()
    .describe(
      'Separator of the granted scopes the token endpoint answers, when not scope_separator (GitHub: ",").',
    ),
  authorization_params: z
    .record(z.string(), z.string())
    .optional()
    .describe('Extra authorization request params (access_type=offline, token_access_type=offline).'),
  token_params: z.record(z.string(), z.string()).optional(),
  pkce: z.boolean().default(true),
  client_auth: z
    .enum(['basic', 'post'])
    .default('basic')
    .describe('How the client authenticates at the token endpoint (RFC 6749 §2.3.1).'),
  client_secret: z
    .enum(['required', 'optional', 'none'])
    .default('optional')
    .describe('none for public clients that must not send a secret.'),
  redirect: RedirectSchema.optional(),
  client_id_env: envName().optional().describe('Default <CONNECTOR>_CLIENT_ID.'),
  client_secret_env: envName().optional().describe('Default <CONNECTOR>_CLIENT_SECRET.'),
  app_registration_url: z.url().optional().describe('Where a user registers an OAuth app.'),
});

const ApiKeySchema = z.strictObject({
  type: z.literal('api_key'),
  in: z.enum(['header', 'query']),
  name: nonEmpty.describe('Header or query parameter name.'),
  prefix: z.string().optional().describe('Text before the key, e.g. "Bearer " or "Token ".'),
  env: envName().optional().describe('Default <CONNECTOR>_API_KEY.'),
});

const BasicSchema = z.strictObject({
  type: z.literal('basic'),
  username_env: envName().optional(),
  password_env: envName().optional(),
});

const NoAuthSchema = z.strictObject({ type: z.literal('none') });

export const AuthSchema = z.discriminatedUnion('type', [
  OAuth2Schema,
  ApiKeySchema,
  BasicSchema,
  NoAuthSchema,
]);
export type AuthDefinition = z.infer<typeof AuthSchema>;
export type OAuth2Definition = z.infer<typeof OAuth2Schema>;

const RateLimitSchema = z.strictObject({
  retry_statuses: z.array(z.int().min(400).max(599)).default([429, 503]),
  retry_after_headers: z
    .array(headerName())
    .default(['Retry-After'])
    .describe('Headers holding seconds or an HTTP date to wait.'),
  reset_headers: z
    .array(headerName())
    .optional()
    .describe('Headers holding the epoch second when the limit resets.'),
  retry_after_path: JsonPathSchema.optional().describe('Seconds to wait, read from the error body.'),
});

const ErrorsSchema = z.strictObject({
  message_paths: z
    .array(JsonPathSchema)
    .default([])
    .describe('Where the human message is, first match wins.'),
  code_paths: z.array(JsonPathSchema).default([]).describe('Where the provider error code is.'),
  ok_path: JsonPathSchema.optional().describe(
    'Where a JSON answer says whether the call succeeded (Slack: ok): a 2xx answer with false there is an error.',
  ),
  expired_codes: z
    .array(nonEmpty)
    .default([])
    .describe(
      'Provider error codes (read at code_paths) that mean the access token expired: refreshed once and sent again, as after a 401.',
    ),
});

const IdentitySchema = z.strictObject({
  endpoint: endpointName().describe('Endpoint that describes the signed-in user.'),
  path: JsonPathSchema.describe('Where the user name or e-mail is in its response.'),
});

export const ConnectorSchema = z.strictObject({
  $schema: z.string().optional(),
  name: connectorName().describe('Identifier used on the command line (connectr call <name> ...).'),
  display_name: nonEmpty,
  version: z.union([z.int().nonnegative(), nonEmpty]).describe('Version of this definition.'),
  docs_url: z.url().describe('Official API documentation.'),
  description: nonEmpty,
  hosts: z
    .record(endpointName(), HostSchema)
    .refine((hosts) => Object.keys(hosts).length > 0, { message: 'at least one host is needed' })
    .describe('Named base URLs; each is overridable by environment variable.'),
  redirect_hosts: z
    .array(
      z.string().regex(/^https?:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+(:[0-9]{1,5})?$/, {
        message:
          'give an origin, e.g. https://files.example.com, or one with a wildcard first label, e.g. https://*.sharepoint.com',
      }),
    )
    .optional()
    .describe(
      'Origins besides the hosts that the API redirects to (pre-authenticated download URLs); followed without the credential, never to a private address. A leading *. matches any subdomain. Overridable by CONNECTR_<CONNECTOR>_REDIRECT_HOSTS (comma-separated).',
    ),
  auth: AuthSchema,
  identity: IdentitySchema.optional(),
  rate_limit: RateLimitSchema.optional(),
  errors: ErrorsSchema.optional(),
  endpoints: z
    .record(endpointName(), EndpointSchema)
    .refine((endpoints) => Object.keys(endpoints).length > 0, {
      message: 'at least one endpoint is needed',
    }),
});

export type ConnectorDefinition = z.infer<typeof ConnectorSchema>;
export type ConnectorInput = z.input<typeof ConnectorSchema>;
