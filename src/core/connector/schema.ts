import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { HEADER_NAME, RESERVED_NAMES, hasNoReservedKey, isNonEmpty, isUnreserved } from './names.js';
import { LIMIT_PERIOD_NAMES, LIMIT_SCOPES, MAX_LIMIT_REQUESTS } from '../limits/spec.js';

export { HEADER_NAME, RESERVED_NAMES };

/**
 * The connector definition format. One zod schema is the single source of truth: it validates
 * YAML files, types the engine, and is exported as JSON Schema for editors
 * (`connectr connectors schema`). Every object is strict so a misspelt field is an error, not
 * a silently ignored line.
 */

// zod/mini carries no messages of its own (the start-up bundle keeps zod/mini and not zod for
// its size and the cost of building this schema, issue #20): English ones, as zod has by default.
z.config(en());

/**
 * `schema` with a description, shown by editors through the JSON Schema (`connectors schema`).
 * The description is registered on `schema` itself, not on a copy (a copy is a whole schema's
 * construction again, some 70 of them at every start that reads a definition): a schema used in
 * several places (`JsonPathSchema`, `nonEmpty`) is given as `X.clone()`.
 */
const doc = <T extends z.ZodMiniType>(schema: T, description: string): T => {
  const described: z.ZodMiniType = schema;
  z.globalRegistry.add(described, { description });
  return schema;
};

/** A string that must match `pattern`; `expected` completes "expected ..." in error messages. */
const matching = (pattern: RegExp, expected: string): z.ZodMiniString =>
  z.string().check(z.regex(pattern, { message: expected }));

/** `schema`, refusing the reserved names with a message that says why. */
const notReserved = (schema: z.ZodMiniString): z.ZodMiniString =>
  schema.check(
    z.refine(isUnreserved, {
      error: (issue) =>
        `"${String(issue.input)}" is reserved (it names a member of every JavaScript object); choose another name`,
    }),
  );

const connectorName = (): z.ZodMiniString =>
  matching(
    /^[a-z][a-z0-9_-]*$/,
    'a name of lowercase letters, digits, "-" and "_" that starts with a letter',
  );
const identifier = (): z.ZodMiniString =>
  notReserved(
    matching(
      /^[A-Za-z_][A-Za-z0-9_]*$/,
      'an identifier of letters, digits and "_" that does not start with a digit',
    ),
  );
const endpointName = (): z.ZodMiniString =>
  notReserved(
    matching(/^[a-z][a-z0-9_]*$/, 'a name of lowercase letters, digits and "_" that starts with a letter'),
  );
const envName = (): z.ZodMiniString =>
  matching(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name of A-Z, 0-9 and "_"');
const flagName = (): z.ZodMiniString =>
  matching(/^[a-z][a-z0-9-]*$/, 'a flag name of lowercase letters, digits and "-" (without the leading --)');
const headerName = (): z.ZodMiniString => matching(HEADER_NAME, 'an HTTP header name');

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
export const PARAM_LOCATIONS = ['path', 'query', 'header', 'body', 'form', 'json_header', 'raw'] as const;
export const PARAM_TYPES = ['string', 'integer', 'number', 'boolean', 'array', 'object', 'file'] as const;
export const SCALAR_TYPES = ['string', 'integer', 'number', 'boolean'] as const;
export const ITEM_TYPES = [...SCALAR_TYPES, 'object'] as const;
export const REQUEST_ENCODINGS = ['json', 'form', 'binary', 'text', 'none'] as const;
export const RESPONSE_ENCODINGS = ['json', 'text', 'binary', 'auto'] as const;

/**
 * The name rules, built once and shared: each is a few schemas, and building the connector
 * schema is most of reading a first definition (a shared one given a description is cloned).
 */
const EndpointName = endpointName();
const Identifier = identifier();
const EnvName = envName();
const HeaderName = headerName();
const FlagName = flagName();

const nonEmpty = z.string().check(z.minLength(1));

/** A place in a JSON document: `error.message`, or a list of keys when a key holds a dot. */
export const JsonPathSchema = doc(
  z.union([
    notReserved(nonEmpty).check(
      z.refine(hasNoReservedKey, {
        error: (issue) =>
          `"${String(issue.input)}" has a reserved key (__proto__, constructor or prototype); choose another name`,
      }),
    ),
    z.array(notReserved(nonEmpty)).check(z.minLength(1)),
  ]),
  'A path into a JSON document: dotted keys ("error.message") or a list of keys when a key contains a dot (["@odata.nextLink"]).',
);
export type JsonPath = z.infer<typeof JsonPathSchema>;

const HostSchema = z.union([
  doc(z.url({ protocol: /^https?$/ }), 'Base URL of this host.'),
  z.strictObject({
    url: doc(z.url({ protocol: /^https?$/ }), 'Base URL of this host.'),
    env: doc(
      z.optional(EnvName),
      'Environment variable that overrides the URL (default CONNECTR_<CONNECTOR>_<HOST>_BASE_URL).',
    ),
    description: z.optional(z.string()),
  }),
]);
export type HostDefinition = z.infer<typeof HostSchema>;

const ScalarValue = z.union([z.string(), z.number(), z.boolean()]);

export const ParamSchema = doc(
  z.strictObject({
    in: doc(
      z.enum(PARAM_LOCATIONS),
      'Where the value goes: path (template placeholder), query, header, body (JSON body field), form (urlencoded body field), json_header (field of the JSON-argument header named by request.json_header), raw (the whole request body).',
    ),
    type: z._default(z.enum(PARAM_TYPES), 'string'),
    items: doc(
      z.optional(z.enum(ITEM_TYPES)),
      'Type of each element when type is array (object: each a JSON object).',
    ),
    required: z._default(z.boolean(), false),
    default: doc(z.optional(z.unknown()), 'Value used when the caller gives none.'),
    enum: doc(z.optional(z.array(ScalarValue).check(z.minLength(1))), 'The only values accepted.'),
    minimum: z.optional(z.number()),
    maximum: z.optional(z.number()),
    description: z.optional(z.string()),
    name: doc(
      z.optional(notReserved(nonEmpty)),
      'Name on the wire when it differs from the key (e.g. "$top", "labelIds").',
    ),
    field: doc(
      z.optional(JsonPathSchema),
      'For body / json_header params: where in the JSON object the value goes (e.g. options.max_results). Defaults to the wire name.',
    ),
    flag: doc(
      z.optional(FlagName),
      'CLI flag name (without --) when the default kebab-case of the key clashes.',
    ),
    style: doc(
      z.optional(z.enum(['segment', 'path', 'odata_string'])),
      'Path params: segment escapes "/" (default); path keeps "/" between escaped segments (OneDrive item paths); odata_string doubles single quotes for use inside an OData string literal.',
    ),
    aliases: doc(
      z.optional(z.record(z.string(), ScalarValue)),
      'Input values replaced before sending, e.g. {"/": ""} because Dropbox names its root folder "" while users type /.',
    ),
    secret: doc(
      z._default(z.boolean(), false),
      'Redacted in --dry-run and logs (passwords, tokens passed as params).',
    ),
  }),
  'A parameter of an endpoint.',
);
export type ParamDefinition = z.infer<typeof ParamSchema>;

const PageTokenPagination = z.strictObject({
  style: z.literal('page_token'),
  request_param: doc(Identifier.clone(), 'Key of the param that carries the token on the next request.'),
  response_path: doc(JsonPathSchema.clone(), 'Where the next token is in the response.'),
  items_path: doc(JsonPathSchema.clone(), 'Where the page items are in the response.'),
});

const CursorPagination = z.strictObject({
  style: z.literal('cursor'),
  continue_endpoint: doc(EndpointName.clone(), 'Endpoint that returns the next page given the cursor.'),
  continue_param: doc(
    z._default(Identifier, 'cursor'),
    'Param of the continue endpoint that takes the cursor.',
  ),
  cursor_path: doc(JsonPathSchema.clone(), 'Where the cursor is in the response.'),
  has_more_path: doc(JsonPathSchema.clone(), 'Boolean in the response: true while pages remain.'),
  items_path: JsonPathSchema,
});

const NextLinkPagination = z.strictObject({
  style: z.literal('next_link'),
  next_path: doc(JsonPathSchema.clone(), 'Where the absolute URL of the next page is.'),
  items_path: JsonPathSchema,
});

const LinkHeaderPagination = z.strictObject({
  style: z.literal('link_header'),
  rel: z._default(z.string(), 'next'),
  items_path: doc(z.optional(JsonPathSchema), 'Omit when the response is a JSON array.'),
});

const OffsetPagination = z.strictObject({
  style: z.literal('offset'),
  offset_param: Identifier,
  limit_param: Identifier,
  items_path: doc(z.optional(JsonPathSchema), 'Omit when the response is a JSON array.'),
  total_path: doc(z.optional(JsonPathSchema), 'Total item count, when the API reports it.'),
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
  encoding: doc(
    z.optional(z.enum(REQUEST_ENCODINGS)),
    'Body encoding. Default: json when body params exist, form for form params, binary for a raw param, else none.',
  ),
  content_type: doc(z.optional(nonEmpty), 'Content-Type to send with the body.'),
  json_header: doc(
    z.optional(HeaderName),
    'Header that carries the json_header params as JSON (e.g. Dropbox-API-Arg).',
  ),
});

const ResponseSchema = z.strictObject({
  encoding: z._default(z.enum(RESPONSE_ENCODINGS), 'auto'),
  result_header: doc(
    z.optional(HeaderName),
    'Response header that carries the JSON result (e.g. Dropbox-API-Result).',
  ),
});

export const UploadSessionSchema = z.strictObject({
  protocol: doc(
    z.enum(['dropbox', 'graph', 'google', 'slack']),
    'dropbox: start/append/finish endpoints with a session cursor; graph: createUploadSession then Content-Range PUTs to uploadUrl; google: a resumable session (the start endpoint answers its URI in Location) then Content-Range PUTs, 308 with Range until the last; slack: the start endpoint (given `length`) answers upload_url and file_id, the bytes are POSTed there whole, then the finish endpoint is given `files` = [{id, title}].',
  ),
  threshold: doc(
    z.int().check(z.nonnegative()),
    'Bodies larger than this many bytes (or of unknown size) use the session; 0: every body.',
  ),
  chunk_size: doc(z.int().check(z.positive()), 'Bytes per chunk.'),
  chunk_multiple: doc(
    z.optional(z.int().check(z.positive())),
    'Chunk sizes must be a multiple of this (Graph: 327680).',
  ),
  start: doc(EndpointName.clone(), 'Endpoint that opens the session.'),
  append: z.optional(EndpointName),
  finish: z.optional(EndpointName),
});
export type UploadSessionDefinition = z.infer<typeof UploadSessionSchema>;

export const EndpointSchema = z.strictObject({
  summary: doc(nonEmpty.clone(), 'One line shown in lists and --help.'),
  description: z.optional(z.string()),
  docs_url: z.optional(z.url()),
  method: z.enum(HTTP_METHODS),
  host: doc(z.optional(EndpointName), 'Key of the host this endpoint is on; defaults to the first host.'),
  path: doc(
    z.string().check(z.startsWith('/', { message: 'path must start with "/"' })),
    'Path template; {key} is replaced by the path param of that key.',
  ),
  params: z._default(z.record(Identifier, ParamSchema), {}),
  headers: doc(z.optional(z.record(HeaderName, z.string())), 'Fixed headers sent with every request.'),
  request: z.optional(RequestSchema),
  response: z.optional(ResponseSchema),
  pagination: z.optional(PaginationSchema),
  scopes: doc(z.optional(z.array(nonEmpty)), 'OAuth scopes this endpoint needs (any of).'),
  idempotent: doc(
    z.optional(z.boolean()),
    'Safe to retry after a failure that may have reached the server. Default: true for GET, HEAD, PUT, DELETE.',
  ),
  upload_session: z.optional(UploadSessionSchema),
  deprecated: z.optional(z.boolean()),
  destructive: doc(
    z.optional(z.boolean()),
    'Deletes or overwrites what cannot be had back (an agent is told to confirm first). Default: true for DELETE.',
  ),
});
export type EndpointDefinition = z.infer<typeof EndpointSchema>;

const RedirectSchema = z.strictObject({
  host: doc(
    z._default(z.enum(['127.0.0.1', 'localhost', '[::1]']), '127.0.0.1'),
    'Host of the loopback redirect URI the provider expects.',
  ),
  port: doc(
    z.optional(z.int().check(z.gte(1), z.lte(65535))),
    'Fixed port, for providers that need an exact registered redirect URI.',
  ),
  path: z._default(z.string().check(z.startsWith('/')), '/callback'),
});

const OAuth2Schema = z.strictObject({
  type: z.literal('oauth2'),
  grants: z._default(
    z.array(z.enum(['authorization_code', 'device_code', 'client_credentials'])).check(z.minLength(1)),
    ['authorization_code'],
  ),
  authorization_url: z.optional(z.url()),
  token_url: z.url(),
  revocation_url: z.optional(z.url()),
  revocation_style: doc(
    z._default(z.enum(['rfc7009', 'bearer']), 'rfc7009'),
    'rfc7009: POST token=... (Google); bearer: POST with the token as bearer (Dropbox).',
  ),
  device_authorization_url: z.optional(z.url()),
  scopes: doc(z._default(z.array(nonEmpty), []), 'Scopes requested by default.'),
  scope_separator: z._default(z.string(), ' '),
  granted_scope_separator: doc(
    z.optional(z.string()),
    'Separator of the granted scopes the token endpoint answers, when not scope_separator (GitHub: ",").',
  ),
  authorization_params: doc(
    z.optional(z.record(z.string(), z.string())),
    'Extra authorization request params (access_type=offline, token_access_type=offline).',
  ),
  token_params: z.optional(z.record(z.string(), z.string())),
  pkce: z._default(z.boolean(), true),
  client_auth: doc(
    z._default(z.enum(['basic', 'post']), 'basic'),
    'How the client authenticates at the token endpoint (RFC 6749 §2.3.1).',
  ),
  client_secret: doc(
    z._default(z.enum(['required', 'optional', 'none']), 'optional'),
    'none for public clients that must not send a secret.',
  ),
  redirect: z.optional(RedirectSchema),
  client_id_env: doc(z.optional(EnvName), 'Default <CONNECTOR>_CLIENT_ID.'),
  client_secret_env: doc(z.optional(EnvName), 'Default <CONNECTOR>_CLIENT_SECRET.'),
  app_registration_url: doc(z.optional(z.url()), 'Where a user registers an OAuth app.'),
});

const ApiKeySchema = z.strictObject({
  type: z.literal('api_key'),
  in: z.enum(['header', 'query']),
  name: doc(nonEmpty.clone(), 'Header or query parameter name.'),
  prefix: doc(z.optional(z.string()), 'Text before the key, e.g. "Bearer " or "Token ".'),
  env: doc(z.optional(EnvName), 'Default <CONNECTOR>_API_KEY.'),
});

const BasicSchema = z.strictObject({
  type: z.literal('basic'),
  username_env: z.optional(EnvName),
  password_env: z.optional(EnvName),
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
  retry_statuses: z._default(z.array(z.int().check(z.gte(400), z.lte(599))), [429, 503]),
  retry_after_headers: doc(
    z._default(z.array(HeaderName), ['Retry-After']),
    'Headers holding seconds or an HTTP date to wait.',
  ),
  reset_headers: doc(
    z.optional(z.array(HeaderName)),
    'Headers holding the epoch second when the limit resets.',
  ),
  retry_after_path: doc(z.optional(JsonPathSchema), 'Seconds to wait, read from the error body.'),
  remaining_headers: doc(
    z.optional(z.array(HeaderName)),
    'Headers holding the calls left in the current window (GitHub: X-RateLimit-Remaining): 0 pauses the rate_limits until the reset_headers time.',
  ),
  codes: doc(
    z.optional(z.array(nonEmpty)),
    'Provider error codes (read at errors.code_paths) that mean the call was rate-limited, even in a 2xx answer (Slack: ratelimited): retried and pausing the rate_limits as a 429 does.',
  ),
});

const RateLimitRuleSchema = z.strictObject({
  scope: doc(
    z.enum(LIMIT_SCOPES),
    "connection: one budget per connection (per user, per token); connector: one budget for all of a project's connections of this connector (per app).",
  ),
  requests: doc(
    z.int().check(z.gte(1), z.lte(MAX_LIMIT_REQUESTS)),
    'Calls allowed per period, evenly spaced (plus the burst).',
  ),
  per: doc(z.enum(LIMIT_PERIOD_NAMES), 'The period: 1s, 1m or 1h.'),
  burst: doc(
    z.optional(z.int().check(z.gte(1), z.lte(MAX_LIMIT_REQUESTS))),
    'Calls that may go at once after a quiet time (default 1: evenly spaced); at most requests + burst - 1 go in any window of the period.',
  ),
  endpoints: doc(
    z.optional(z.array(EndpointName).check(z.minLength(1))),
    "The endpoints this limit counts; absent: every call of the connector (the raw proxy's included).",
  ),
});

const RateLimitRules = z.array(RateLimitRuleSchema);

const RateLimitsSchema = doc(
  z.union([
    RateLimitRules,
    z.strictObject({
      max_wait: doc(
        z.optional(matching(/^[0-9]{1,6}(ms|s)$/, 'a duration in ms or s, e.g. 10s or 500ms (at most 60s)')),
        'How long a call waits its turn before a 429 rate_limited (default 10s, at most 60s); a caller may ask for less or more (max_wait_ms, x-connectr-max-wait).',
      ),
      limits: RateLimitRules,
    }),
  ]),
  'Rate limits connectr keeps itself, shared by every instance of connectr serve on one database: a call over a limit waits its turn (up to max_wait), then is refused with a 429 rate_limited and nothing is sent (docs/limits.md). A list, or {max_wait, limits}.',
);

const ErrorsSchema = z.strictObject({
  message_paths: doc(
    z._default(z.array(JsonPathSchema), []),
    'Where the human message is, first match wins.',
  ),
  code_paths: doc(z._default(z.array(JsonPathSchema), []), 'Where the provider error code is.'),
  ok_path: doc(
    z.optional(JsonPathSchema),
    'Where a JSON answer says whether the call succeeded (Slack: ok): a 2xx answer with false there is an error.',
  ),
  expired_codes: doc(
    z._default(z.array(nonEmpty), []),
    'Provider error codes (read at code_paths) that mean the access token expired: refreshed once and sent again, as after a 401.',
  ),
});

const IdentitySchema = z.strictObject({
  endpoint: doc(EndpointName.clone(), 'Endpoint that describes the signed-in user.'),
  path: doc(JsonPathSchema.clone(), 'Where the user name or e-mail is in its response.'),
});

const HealthSchema = z.strictObject({
  endpoint: doc(
    EndpointName.clone(),
    "A cheap read of the signed-in account (the identity endpoint, say) that `connectr accounts check` and the daemon's health check call to learn whether the credential still works; it must need no param without a default.",
  ),
});
/** Where the account keys of an event are in its payload (a path through a list reaches into each element). */
const accountPaths = (description: string) => doc(z.array(JsonPathSchema).check(z.minLength(1)), description);
const IdentityKey = doc(
  z.optional(JsonPathSchema),
  "Where, in the identity endpoint's answer, the key the provider's events name the account by (Dropbox: account_id): kept with the connection at sign-in to attribute events to it.",
);

/** One option per shape of provider push connectr verifies (src/core/provider-events/). */
export const WEBHOOK_SHAPES = ['dropbox', 'microsoft_graph', 'slack', 'github', 'gmail_pubsub'] as const;
export type WebhookShape = (typeof WEBHOOK_SHAPES)[number];

export const WebhooksSchema = doc(
  z.discriminatedUnion('shape', [
    z.strictObject({
      shape: z.literal('dropbox'),
      accounts: accountPaths('Where the account ids of a notification are (Dropbox: list_folder.accounts).'),
      event_type: doc(
        z._default(nonEmpty, 'list_folder'),
        'The event type the notification is forwarded as.',
      ),
      identity_key: IdentityKey,
    }),
    z.strictObject({
      shape: z.literal('microsoft_graph'),
      event_type_path: doc(
        z._default(JsonPathSchema, 'changeType'),
        'Where the event type of a change notification is (lifecycle notifications use lifecycleEvent).',
      ),
    }),
    z.strictObject({
      shape: z.literal('slack'),
      accounts: accountPaths('Where the team ids of an event are (Slack: team_id, authorizations.team_id).'),
      event_type_path: doc(z._default(JsonPathSchema, 'event.type'), 'Where the event type is.'),
      identity_key: IdentityKey,
    }),
    z.strictObject({
      shape: z.literal('github'),
      accounts: accountPaths(
        'Where the installation or user ids of an event are (installation.id, sender.id).',
      ),
      identity_key: IdentityKey,
    }),
    z.strictObject({
      shape: z.literal('gmail_pubsub'),
      accounts: accountPaths(
        'Where the mailbox is in the decoded message.data of the Pub/Sub push (Gmail: emailAddress).',
      ),
      event_type: doc(z._default(nonEmpty, 'history'), 'The event type the notification is forwarded as.'),
    }),
  ]),
  'The pushes (webhooks) the provider sends: which shape it follows and where its events name the account. Served at /webhooks/providers/<connector> by connectr serve (docs/webhooks.md).',
);
export type WebhooksDefinition = z.infer<typeof WebhooksSchema>;

export const ConnectorSchema = z.strictObject({
  $schema: z.optional(z.string()),
  name: doc(connectorName(), 'Identifier used on the command line (connectr call <name> ...).'),
  display_name: nonEmpty,
  version: doc(
    z.optional(z.union([z.int().check(z.positive(), z.lte(2_147_483_647)), nonEmpty])),
    'Version of this definition, a whole number from 1 (default 1); connections pin it. Several versions of one connector may be loaded side by side (gmail.yaml and gmail@1.yaml). A string that is not a whole number (older imports copied the API\'s own version, e.g. "1.0.3") counts as 1.',
  ),
  docs_url: doc(z.url(), 'Official API documentation.'),
  description: nonEmpty,
  hosts: doc(
    z
      .record(EndpointName, HostSchema)
      .check(z.refine(isNonEmpty, { message: 'at least one host is needed' })),
    'Named base URLs; each is overridable by environment variable.',
  ),
  redirect_hosts: doc(
    z.optional(
      z.array(
        z.string().check(
          z.regex(/^https?:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+(:[0-9]{1,5})?$/, {
            message:
              'give an origin, e.g. https://files.example.com, or one with a wildcard first label, e.g. https://*.sharepoint.com',
          }),
        ),
      ),
    ),
    "Origins besides the hosts that the API redirects to (pre-authenticated download URLs) or answers as an upload session's URL (Graph's uploadUrl, Slack's upload_url); followed without the credential, never to a private address. A leading *. matches any subdomain. Overridable by CONNECTR_<CONNECTOR>_REDIRECT_HOSTS (comma-separated).",
  ),
  auth: AuthSchema,
  identity: z.optional(IdentitySchema),
  health: z.optional(HealthSchema),
  rate_limit: z.optional(RateLimitSchema),
  rate_limits: z.optional(RateLimitsSchema),
  errors: z.optional(ErrorsSchema),
  webhooks: z.optional(WebhooksSchema),
  endpoints: z.record(EndpointName, EndpointSchema).check(
    z.refine(isNonEmpty, {
      message: 'at least one endpoint is needed',
    }),
  ),
});

export type ConnectorDefinition = z.infer<typeof ConnectorSchema>;
export type ConnectorInput = z.input<typeof ConnectorSchema>;
