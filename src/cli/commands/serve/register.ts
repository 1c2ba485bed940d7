import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { Runner } from '../../runner.js';
import { collect } from '../../repeatable.js';
import { API_KEY_SCOPES } from '../../../server/contracts.js';
import type { ApiKeyScope } from '../../../server/contracts.js';

/**
 * `connectr serve` and its admin commands: wiring only. The server (Fastify, the database)
 * is imported by the action, so no other command ever loads it.
 */

function integer(min: number, max: number, what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected ${what} from ${min} to ${max}.`);
    return n;
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface ServeFlags {
  readonly port: number;
  readonly host: string;
  readonly corsOrigin?: readonly string[];
  readonly bodyLimit: number;
  readonly requestTimeout: number;
  readonly maxConnections?: number;
  readonly maxConnectionsPerAddress?: number;
  readonly logLevel: string;
  readonly logFormat: 'auto' | 'pretty' | 'json';
  readonly shutdownTimeout: number;
  readonly trustProxy?: string;
  readonly publicUrl?: string;
  readonly maxSignIns: number;
}

export function registerServe(program: Command, runner: Runner): void {
  const serve = program
    .command('serve')
    .description('run the REST API for programs and SDKs: connectors, connections and calls over HTTP')
    .option('--port <port>', 'TCP port to listen on (0 picks a free one)', integer(0, 65535, 'a port'), 5000)
    .option('--host <host>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option(
      '--cors-origin <origin>',
      'allow browser calls from this exact origin, e.g. https://app.example.com (repeatable)',
      collect,
    )
    .option(
      '--body-limit <bytes>',
      'largest JSON request body accepted',
      integer(1, 1024 * 1024 * 1024, 'a number of bytes'),
      1024 * 1024,
    )
    .option(
      '--request-timeout <seconds>',
      'time a whole request (headers within 10 s, then the body) may take to arrive; raise it for large uploads through the raw proxy',
      integer(1, 3600, 'seconds'),
      30,
    )
    .option(
      '--max-connections <count>',
      'most client connections open at once (default: CONNECTR_MAX_CONNECTIONS, else 1000)',
      integer(1, 1_000_000, 'a number of connections'),
    )
    .option(
      '--max-connections-per-address <count>',
      'most from one client address, an IPv6 /64 counting as one; 0: no cap of its own (default: CONNECTR_MAX_CONNECTIONS_PER_ADDRESS, else 200)',
      integer(0, 1_000_000, 'a number of connections'),
    )
    .addOption(
      new Option('--log-level <level>', 'what the log (on stderr) shows').choices(LOG_LEVELS).default('info'),
    )
    .addOption(
      new Option(
        '--log-format <format>',
        'the log as readable lines (pretty) or JSON lines (json); auto: pretty when stderr is a terminal',
      )
        .choices(['auto', 'pretty', 'json'])
        .default('auto'),
    )
    .option(
      '--shutdown-timeout <seconds>',
      'on SIGTERM/Ctrl-C, how long requests in flight may take to finish',
      integer(0, 3600, 'seconds'),
      10,
    )
    .option(
      '--trust-proxy <addresses>',
      'trust X-Forwarded-For/-Proto from these proxies (comma-separated addresses or CIDRs)',
    )
    .option(
      '--public-url <url>',
      'where browsers reach this server, e.g. https://connectr.example.com: OAuth sign-ins come back to <url>/api/v1/oauth/callback (default: the listening address)',
    )
    .option(
      '--max-sign-ins <count>',
      'the most browser sign-ins one project may have pending at once; more are refused with 429',
      integer(1, 1_000_000, 'a number of sign-ins'),
      1000,
    )
    .addHelpText(
      'after',
      `
Listens until SIGTERM or Ctrl-C, then stops accepting, finishes the requests in flight and
exits 0. The database is PostgreSQL when DATABASE_URL is set, else PGlite in the data directory.

Examples:
  connectr serve
  connectr serve --port 8080 --host 0.0.0.0 --cors-origin https://app.example.com
  curl -H "Authorization: Bearer $KEY" http://127.0.0.1:5000/api/v1/connectors
Docs: docs/server.md`,
    )
    .action(async (flags: ServeFlags, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./serve.js')).serve(ctx, flags));
    });

  const keys = serve.command('keys').description("manage the server's API keys (works while servers run)");
  keys
    .command('create')
    .description('create an API key; it is shown once')
    .requiredOption('--name <name>', 'what the key is for, e.g. "billing-worker"')
    .option('--project <project>', 'the project the key belongs to (default: "default")')
    .option('--allow-token', 'the key may read access tokens (GET /connections/{id}/token)')
    .addOption(
      new Option(
        '--scope <scope>',
        'what the key reaches: "project" (its project\'s API) or "metrics" (GET /metrics alone, for a scraper)',
      )
        .choices(API_KEY_SCOPES)
        .default('project'),
    )
    .action(
      async (
        opts: { name: string; project?: string; allowToken?: boolean; scope: ApiKeyScope },
        cmd: Command,
      ) => {
        await runner(cmd, async (ctx) =>
          (await import('./keys.js')).createKey(ctx, {
            name: opts.name,
            project: opts.project,
            allowToken: opts.allowToken === true,
            scope: opts.scope,
          }),
        );
      },
    );
  keys
    .command('list')
    .description('list API keys: id, prefix, project, last use, revoked (never the secret)')
    .option('--project <project>', 'only the keys of this project')
    .action(async (opts: { project?: string }, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./keys.js')).listKeys(ctx, { project: opts.project }));
    });
  keys
    .command('revoke')
    .description('revoke an API key: every server refuses it from its next request')
    .argument('<id-or-prefix>', 'the key id, or the visible prefix `keys list` shows')
    .action(async (idOrPrefix: string, _opts: unknown, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./keys.js')).revokeKey(ctx, idOrPrefix));
    });

  serve
    .command('rotate-key')
    .description('re-encrypt every stored secret with the current CONNECTR_ENCRYPTION_KEY')
    .action(async (_opts: unknown, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./rotate-key.js')).rotateKey(ctx));
    });
}
