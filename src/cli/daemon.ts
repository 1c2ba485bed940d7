import type { ErrorCode } from '../core/errors.js';
import { ConnectrError } from '../core/errors.js';
import { describeNetworkError, httpExchange } from '../core/http/request.js';
import type { HttpResult } from '../core/http/request.js';
import type { Env } from '../core/paths.js';

/**
 * A small client of a `connectr serve` daemon's REST API for the CLI, over connectr's own HTTP
 * layer (core/http): JSON in and out, the API key as a bearer token, and every answer that is
 * not a success turned into a ConnectrError carrying the daemon's own message and hint. The
 * key never appears in an error.
 */

export interface DaemonOptions {
  /** Where the daemon is, as given (--server / CONNECTR_URL). */
  readonly server: string;
  readonly apiKey: string;
  readonly env: Env;
  readonly signal: AbortSignal;
}

export interface Daemon {
  /** The daemon's base URL, as shown in messages (no trailing slash). */
  readonly base: string;
  /**
   * The parsed JSON of a 2xx answer; else throws. `signal` replaces the command's (Ctrl-C) for
   * a request that must finish even then (undoing what was done).
   */
  request(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<unknown>;
}

/** The daemon's base URL: http(s), no credentials, query or fragment; any path kept (a proxy prefix). */
export function daemonBase(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new ConnectrError(
      'usage',
      `the server address (--server or CONNECTR_URL) must be the address of connectr serve, e.g. http://127.0.0.1:5000`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConnectrError(
      'usage',
      `the server address (--server or CONNECTR_URL) must be an http:// or https:// address, not ${url.protocol}`,
    );
  if (url.username || url.password)
    throw new ConnectrError(
      'usage',
      'the server address (--server or CONNECTR_URL) must not contain a user name or password',
      {
        hint: 'pass the API key in CONNECTR_API_KEY',
      },
    );
  if (url.search || url.hash)
    throw new ConnectrError(
      'usage',
      'the server address (--server or CONNECTR_URL) must not contain a query or a fragment',
    );
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The daemon a command names: --server, else CONNECTR_URL; the key: --api-key, else
 * CONNECTR_API_KEY (which keeps it out of ps). A usage error says which is missing.
 */
export function daemonOf(
  ctx: {
    readonly settings: { CONNECTR_URL?: string | undefined; CONNECTR_API_KEY?: string | undefined };
    readonly env: Env;
    readonly signal: AbortSignal;
  },
  flags: { readonly server?: string | undefined; readonly apiKey?: string | undefined },
): Daemon {
  const server = flags.server ?? ctx.settings.CONNECTR_URL;
  const apiKey = flags.apiKey ?? ctx.settings.CONNECTR_API_KEY;
  if (server === undefined)
    throw new ConnectrError('usage', 'where is the connectr server? No --server and no CONNECTR_URL', {
      hint: 'set CONNECTR_URL=http://host:port (or pass --server)',
    });
  if (apiKey === undefined)
    throw new ConnectrError(
      'usage',
      'no API key for the connectr server: no CONNECTR_API_KEY and no --api-key',
      {
        hint: 'set CONNECTR_API_KEY to a key from `connectr serve keys create --name <name>`',
      },
    );
  return connectDaemon({ server, apiKey, env: ctx.env, signal: ctx.signal });
}

export function connectDaemon(options: DaemonOptions): Daemon {
  const base = daemonBase(options.server);
  if (options.apiKey === '' || /[^\x21-\x7e]/.test(options.apiKey))
    throw new ConnectrError('usage', 'the API key is empty or has spaces or control characters', {
      hint: 'set CONNECTR_API_KEY to the key `connectr serve keys create` printed',
    });
  return {
    base,
    async request(method, path, body, signal) {
      let result: HttpResult;
      try {
        result = await httpExchange(method, `${base}${path}`, {
          headers: {
            authorization: `Bearer ${options.apiKey}`,
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          env: options.env,
          signal: signal ?? options.signal,
        });
      } catch (error) {
        if (error instanceof ConnectrError && error.code === 'unavailable')
          throw new ConnectrError(
            'unavailable',
            `cannot reach the connectr server at ${base}: ${describeNetworkError(error.cause ?? error)}`,
            {
              hint: 'is `connectr serve` running there? Check --server (or CONNECTR_URL)',
            },
          );
        throw error;
      }
      if (result.status >= 200 && result.status < 300) return result.json;
      throw answerError(base, method, path, result);
    },
  };
}

function answerError(base: string, method: string, path: string, result: HttpResult): ConnectrError {
  const status = result.status;
  if (status === 401) {
    return new ConnectrError('auth_required', `the connectr server at ${base} refused the API key (401)`, {
      hint: 'check --api-key (or CONNECTR_API_KEY); an admin makes one with `connectr serve keys create --name <name>` where the server runs',
    });
  }
  const envelope = envelopeOf(result.json);
  if (!envelope) {
    return new ConnectrError(
      status >= 500 ? 'upstream' : 'invalid_input',
      `${base} answered ${method} ${path} with ${status}, and not as a connectr server`,
      { hint: 'check --server (or CONNECTR_URL): it must be the address of `connectr serve`' },
    );
  }
  return new ConnectrError(codeFor(status), envelope.message, {
    details: envelope.details,
    ...(envelope.hint === undefined ? {} : { hint: envelope.hint }),
  });
}

function codeFor(status: number): ErrorCode {
  if (status === 403) return 'auth_required';
  if (status === 404) return 'not_found';
  if (status === 429 || status === 503) return 'unavailable';
  if (status === 504) return 'timeout';
  if (status >= 500) return 'upstream';
  return 'invalid_input';
}

/** The daemon's error envelope {error: {message, details, hint}}, read defensively. */
function envelopeOf(
  json: unknown,
): { message: string; details: string[]; hint: string | undefined } | undefined {
  if (!isRecord(json) || !isRecord(json.error) || typeof json.error.message !== 'string') return undefined;
  const { message, details, hint } = json.error;
  const lines = Array.isArray(details)
    ? details.filter(isRecord).map((d) => {
        const text = typeof d.message === 'string' ? d.message : '';
        return typeof d.field === 'string' ? `${d.field}: ${text}` : text;
      })
    : [];
  // The message itself is usually the first detail too: no need to say it twice.
  return {
    message,
    details: lines.filter((line) => line !== message && !line.endsWith(`: ${message}`)),
    hint: typeof hint === 'string' ? hint : undefined,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
