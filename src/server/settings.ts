import type { Env } from '../core/paths.js';
import type { ConnectionLimits } from './connection-limits.js';
import { LOG_LEVELS } from './plugins/logging.js';
import type { LogLevel } from './plugins/logging.js';
import type { Setting, Settings } from '../core/settings/define.js';
import { objectOf } from '../core/settings/define.js';
import type { Kind } from '../core/settings/kinds.js';
import { choice, list, text, wholeNumber } from '../core/settings/kinds.js';
import { parseSettings } from '../core/settings/parse.js';

/**
 * The settings of `connectr serve`: the variables of its environment (SERVER_SETTINGS) and its
 * flags (SERVE_FLAGS), as one schema. `connectr serve` parses them once before anything is
 * opened and passes them down; the store and the app take them as arguments.
 */

export const DEFAULT_CACHE_MS = 2000;
/** Largest proxied upload by default (1 GiB). */
export const DEFAULT_PROXY_MAX_BODY = 1024 * 1024 * 1024;
export const DEFAULT_MAX_CONNECTIONS = 1000;
export const DEFAULT_HEALTH_INTERVAL_MS = 5 * 60_000;
export const DEFAULT_SUBSCRIPTION_INTERVAL_MS = 10 * 60_000;
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 200;
export const DEFAULT_CALL_LOG_RETENTION_HOURS = 7 * 24;
export const DEFAULT_CALL_LOG_FLUSH_MS = 1000;
export const DEFAULT_CALL_LOG_BUFFER = 10_000;

export const SERVER_SETTINGS = {
  DATABASE_URL: {
    schema: text(),
    doc: {
      meaning:
        'the PostgreSQL database, `postgres://user:password@host:5432/database`; unset: PGlite in the data folder',
      readBy: ['connectr serve', 'serve keys'],
    },
  },
  CONNECTR_ENCRYPTION_KEY: {
    schema: text(),
    doc: {
      meaning: 'the key sealing stored tokens (base64 of 32 bytes); required with `DATABASE_URL`',
      default: 'PGlite: generated once, kept in the credential store',
      readBy: ['connectr serve', 'serve keys'],
    },
  },
  CONNECTR_ENCRYPTION_KEYS_OLD: {
    schema: list(',', true),
    doc: {
      meaning: 'previous keys still read during a rotation, comma-separated',
      readBy: ['connectr serve', 'serve keys'],
    },
  },
  CONNECTR_CACHE_MS: {
    schema: wholeNumber({ fallback: DEFAULT_CACHE_MS, min: 0 }),
    doc: {
      meaning:
        'how long an instance trusts what it read of an API key or a connection, in ms; `0`: always read the database',
      default: `\`${DEFAULT_CACHE_MS}\``,
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_HEALTH_INTERVAL_MS: {
    schema: wholeNumber({ fallback: DEFAULT_HEALTH_INTERVAL_MS, min: 0 }),
    doc: {
      meaning:
        'how often the health task refreshes OAuth tokens ahead of expiry and checks idle connections, in ms (docs/server.md, "Connection health"); `0`: never',
      default: `\`${DEFAULT_HEALTH_INTERVAL_MS}\` (5 minutes)`,
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_SUBSCRIPTION_INTERVAL_MS: {
    schema: wholeNumber({ fallback: DEFAULT_SUBSCRIPTION_INTERVAL_MS, min: 0 }),
    doc: {
      meaning:
        'how often the subscription task renews Graph subscriptions and Gmail watches before they expire, in ms (docs/webhooks.md); `0`: never',
      default: `\`${DEFAULT_SUBSCRIPTION_INTERVAL_MS}\` (10 minutes)`,
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_PROXY_MAX_BODY: {
    schema: wholeNumber({ fallback: DEFAULT_PROXY_MAX_BODY, min: 0 }),
    doc: {
      meaning: 'largest body sent through the raw proxy, in bytes',
      default: `\`${DEFAULT_PROXY_MAX_BODY}\` (1 GiB)`,
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_DB_CONNECT_TIMEOUT_MS: {
    schema: wholeNumber({ fallback: 5000 }),
    doc: {
      meaning: 'waiting for a PostgreSQL connection (a new one, or a free one of a full pool), in ms',
      default: '`5000`',
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_DB_QUERY_TIMEOUT_MS: {
    schema: wholeNumber({ fallback: 15_000 }),
    doc: {
      meaning: 'one PostgreSQL statement (`statement_timeout`), in ms',
      default: '`15000`',
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_DB_POOL_SIZE: {
    schema: wholeNumber({ fallback: 10 }),
    doc: { meaning: 'PostgreSQL connections per instance', default: '`10`', readBy: ['connectr serve'] },
  },
  CONNECTR_GMAIL_PUSH_AUDIENCE: {
    schema: text(),
    doc: {
      meaning:
        "the audience of the OIDC token Gmail's Pub/Sub push carries; set (with `CONNECTR_GMAIL_PUSH_JWKS_FILE`): the token is required and checked (docs/webhooks.md)",
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_GMAIL_PUSH_JWKS_FILE: {
    schema: text(),
    doc: {
      meaning:
        "a file holding the JWKS (JSON) the Pub/Sub push's OIDC token is checked against, read at start (Google's: https://www.googleapis.com/oauth2/v3/certs)",
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_GMAIL_PUSH_TOPIC: {
    schema: text(),
    doc: {
      meaning:
        'the Cloud Pub/Sub topic, `projects/<p>/topics/<t>`, given to `users.watch` by `POST /api/v1/connections/{id}/subscriptions`',
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_GMAIL_PUSH_EMAIL: {
    schema: text(),
    doc: {
      meaning: "the service account the Pub/Sub push's OIDC token must name (`email`, verified); unset: any",
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_MAX_CONNECTIONS: {
    schema: wholeNumber({ fallback: DEFAULT_MAX_CONNECTIONS }),
    doc: {
      meaning: 'most client connections open at once, when `--max-connections` is not given',
      default: `\`${DEFAULT_MAX_CONNECTIONS}\``,
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_MAX_CONNECTIONS_PER_ADDRESS: {
    schema: wholeNumber({ fallback: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, min: 0 }),
    doc: {
      meaning:
        'most from one client address, when `--max-connections-per-address` is not given; `0`: only the global cap',
      default: `\`${DEFAULT_MAX_CONNECTIONS_PER_ADDRESS}\``,
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_WEBHOOK_TIMEOUT_MS: {
    schema: wholeNumber({ fallback: 15_000 }),
    doc: {
      meaning: 'how long a webhook receiver has to answer a delivery, in ms (docs/webhooks.md)',
      default: '`15000`',
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_WEBHOOK_POLL_MS: {
    schema: wholeNumber({ fallback: 1000 }),
    doc: {
      meaning:
        'how often an instance looks for due webhook deliveries, besides when it records an event, in ms',
      default: '`1000`',
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_CALL_LOG: {
    schema: choice(['on', 'off'], 'on'),
    doc: {
      meaning:
        'the call log (docs/server.md, "Call log"): `on` records every execute, raw-proxy and MCP call; `off` records none',
      default: '`on`',
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_CALL_LOG_RETENTION_HOURS: {
    schema: wholeNumber({ fallback: DEFAULT_CALL_LOG_RETENTION_HOURS, min: 1 }),
    doc: {
      meaning: 'how long the call log keeps a call, in hours; older ones are deleted every few minutes',
      default: `\`${DEFAULT_CALL_LOG_RETENTION_HOURS}\` (7 days)`,
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_CALL_LOG_FLUSH_MS: {
    schema: wholeNumber({ fallback: DEFAULT_CALL_LOG_FLUSH_MS, min: 1 }),
    doc: {
      meaning:
        'how often the calls held in memory are written to the call log, in ms (500 waiting are written at once)',
      default: `\`${DEFAULT_CALL_LOG_FLUSH_MS}\``,
      readBy: ['connectr serve'],
    },
  },
  CONNECTR_CALL_LOG_BUFFER: {
    schema: wholeNumber({ fallback: DEFAULT_CALL_LOG_BUFFER, min: 1 }),
    doc: {
      meaning:
        'most calls held in memory while the database cannot be written; past it the oldest are dropped (counted in /metrics)',
      default: `\`${DEFAULT_CALL_LOG_BUFFER}\``,
      readBy: ['connectr serve'],
    },
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    schema: text(),
    doc: {
      meaning:
        'an OpenTelemetry collector (OTLP over HTTP, e.g. `http://127.0.0.1:4318`): set, each call is also a span sent to `<url>/v1/traces`; unset: no OpenTelemetry code is loaded',
      readBy: ['connectr serve'],
    },
  },
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: {
    schema: text(),
    doc: {
      meaning: "the collector's traces URL itself, used as it is (instead of the one above)",
      readBy: ['connectr serve'],
    },
  },
  OTEL_EXPORTER_OTLP_HEADERS: {
    schema: text(),
    doc: {
      meaning: "headers sent with the spans, `name=value,name2=value2` (e.g. a collector's key)",
      readBy: ['connectr serve'],
    },
  },
  OTEL_SERVICE_NAME: {
    schema: text(),
    doc: { meaning: "the spans' `service.name`", default: '`connectr`', readBy: ['connectr serve'] },
  },
} satisfies Record<string, Setting<unknown>>;

export type ServerSettings = Settings<typeof SERVER_SETTINGS>;

const SERVER_SCHEMA = objectOf(SERVER_SETTINGS);

/** The server's environment, parsed: a malformed value stops the start, naming the variable. */
export function serverSettings(env: Env): ServerSettings {
  return parseSettings(SERVER_SCHEMA, env);
}

/**
 * What the store's openers are given: the settings `connectr serve` parsed, or an environment
 * to parse them from (tests, commands that open the store alone).
 */
export interface SettingsSource {
  readonly settings?: ServerSettings | undefined;
  readonly env?: Env | undefined;
}

export function settingsOf(source: SettingsSource): ServerSettings {
  return source.settings ?? serverSettings(source.env ?? {});
}

/** A flag of `connectr serve`: commander's syntax, its value's schema, its help and docs. */
export interface ServeFlag {
  /** `--port <port>` */
  readonly syntax: string;
  /** One line for --help. */
  readonly help: string;
  /** The docs' table: what it does (defaults are the table's own column). */
  readonly meaning: string;
  readonly default?: number | string;
  /** The default in words when it is not a value (`none`, `off`). */
  readonly defaultText?: string;
  /** The variable used when the flag is not given (SERVER_SETTINGS). */
  readonly env?: keyof typeof SERVER_SETTINGS;
  /** How its value is read; none: text. */
  readonly value?:
    { readonly schema: Kind<number>; readonly expected: string } | { readonly choices: readonly string[] };
  /** Given more than once, every value in order. */
  readonly repeatable?: boolean;
}

/** A whole-number flag: `expected` is how commander's error words the range ("expected seconds from 1 to 3600."). */
function count(unit: string, min: number, max: number): { schema: Kind<number>; expected: string } {
  return {
    schema: wholeNumber({ fallback: min, min, max }),
    expected: `expected ${unit} from ${min} to ${max}.`,
  };
}

export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;

export const SERVE_FLAGS = {
  port: {
    syntax: '--port <port>',
    help: 'TCP port to listen on (0 picks a free one)',
    meaning: 'TCP port; `0` picks a free one (the start-up line says which)',
    default: 5000,
    value: count('a port', 0, 65535),
  },
  host: {
    syntax: '--host <host>',
    help: 'address to listen on (0.0.0.0 for every interface)',
    meaning:
      'address to listen on: `127.0.0.1` for this machine only, `0.0.0.0` (or `::`) for every interface',
    default: '127.0.0.1',
  },
  corsOrigin: {
    syntax: '--cors-origin <origin>',
    help: 'allow browser calls from this exact origin, e.g. https://app.example.com (repeatable)',
    meaning:
      'let browser pages from this exact origin call the API (repeatable, no wildcards; see CORS in docs/server.md)',
    defaultText: 'none',
    repeatable: true,
  },
  bodyLimit: {
    syntax: '--body-limit <bytes>',
    help: 'largest JSON request body accepted',
    meaning: 'largest request body; a larger one is refused with 413',
    default: 1024 * 1024,
    value: count('a number of bytes', 1, 1024 * 1024 * 1024),
  },
  requestTimeout: {
    syntax: '--request-timeout <seconds>',
    help: 'time a whole request (headers within 10 s, then the body) may take to arrive; raise it for large uploads through the raw proxy',
    meaning: 'time a whole request may take to arrive (its headers: 10 s); a slower one gets a 408',
    default: 30,
    value: count('seconds', 1, 3600),
  },
  maxConnections: {
    syntax: '--max-connections <count>',
    help: 'most client connections open at once (default: CONNECTR_MAX_CONNECTIONS, else 1000)',
    meaning: 'most client connections open at once; see "Connection limits" in docs/server.md',
    env: 'CONNECTR_MAX_CONNECTIONS',
    value: count('a number of connections', 1, 1_000_000),
  },
  maxConnectionsPerAddress: {
    syntax: '--max-connections-per-address <count>',
    help: 'most from one client address, an IPv6 /64 counting as one; 0: no cap of its own (default: CONNECTR_MAX_CONNECTIONS_PER_ADDRESS, else 200)',
    meaning: 'most from one client address, an IPv6 /64 counting as one; `0`: only the global cap',
    env: 'CONNECTR_MAX_CONNECTIONS_PER_ADDRESS',
    value: count('a number of connections', 0, 1_000_000),
  },
  logLevel: {
    syntax: '--log-level <level>',
    help: 'what the log (on stderr) shows',
    meaning: 'what the log (on stderr) shows',
    default: 'info',
    value: { choices: LOG_LEVELS },
  },
  logFormat: {
    syntax: '--log-format <format>',
    help: 'the log as readable lines (pretty) or JSON lines (json); auto: pretty when stderr is a terminal',
    meaning: '`pretty` (readable lines), `json` (JSON lines), or `auto`: `pretty` when stderr is a terminal',
    default: 'auto',
    value: { choices: LOG_FORMATS },
  },
  shutdownTimeout: {
    syntax: '--shutdown-timeout <seconds>',
    help: 'on SIGTERM/Ctrl-C, how long requests in flight may take to finish',
    meaning: 'on SIGTERM or Ctrl-C, how long requests in flight may take to finish',
    default: 10,
    value: count('seconds', 0, 3600),
  },
  trustProxy: {
    syntax: '--trust-proxy <addresses>',
    help: 'trust X-Forwarded-For/-Proto from these proxies (comma-separated addresses or CIDRs)',
    meaning: 'trust `X-Forwarded-For`/`-Proto` from these proxies (comma-separated addresses or CIDRs)',
    defaultText: 'off',
  },
  publicUrl: {
    syntax: '--public-url <url>',
    help: 'where browsers reach this server, e.g. https://connectr.example.com: OAuth sign-ins come back to <url>/api/v1/oauth/callback (default: the listening address)',
    meaning:
      'the address browsers reach; OAuth sign-ins return to `<url>/api/v1/oauth/callback` (see OAuth in docs/server.md)',
    defaultText: 'the listening address',
  },
  maxSignIns: {
    syntax: '--max-sign-ins <count>',
    help: 'the most browser sign-ins one project may have pending at once; more are refused with 429',
    meaning: 'the most browser sign-ins one project may have pending at once; more get a 429',
    default: 1000,
    value: count('a number of sign-ins', 1, 1_000_000),
  },
} satisfies Record<string, ServeFlag>;

/** What commander gives the action: each flag's value, or undefined when not given and without a default. */
export interface ServeFlags {
  readonly port: number;
  readonly host: string;
  readonly corsOrigin?: readonly string[];
  readonly bodyLimit: number;
  readonly requestTimeout: number;
  readonly maxConnections?: number;
  readonly maxConnectionsPerAddress?: number;
  readonly logLevel: LogLevel;
  readonly logFormat: (typeof LOG_FORMATS)[number];
  readonly shutdownTimeout: number;
  readonly trustProxy?: string;
  readonly publicUrl?: string;
  readonly maxSignIns: number;
}

/**
 * A flag's value from its text, by its schema; undefined when refused (register.ts then gives
 * commander's usage error with `expected`). An empty value is refused, not taken for a default.
 */
export function flagValue(value: { readonly schema: Kind<number> }, given: string): number | undefined {
  if (given.trim() === '') return undefined;
  const result = value.schema['~standard'].validate(given);
  return result instanceof Promise || result.issues !== undefined ? undefined : result.value;
}

/**
 * The caps of client connections: the flag, else its variable (so a container or a unit file
 * sets them without changing the command), else the default.
 */
export function connectionLimits(
  flags: {
    readonly maxConnections?: number | undefined;
    readonly maxConnectionsPerAddress?: number | undefined;
  },
  settings: ServerSettings,
): ConnectionLimits {
  return {
    max: flags.maxConnections ?? settings.CONNECTR_MAX_CONNECTIONS,
    perAddress: flags.maxConnectionsPerAddress ?? settings.CONNECTR_MAX_CONNECTIONS_PER_ADDRESS,
  };
}
