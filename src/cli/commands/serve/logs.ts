import { ConnectrError } from '../../../core/errors.js';
import type { CliContext } from '../../context.js';
import { daemonOf } from '../../daemon.js';
import type { Daemon } from '../../daemon.js';

/**
 * `connectr serve logs [--follow]`: a running daemon's call log (GET /api/v1/logs), reached
 * the way `connections push` reaches it: --server/CONNECTR_URL and an API key of the project
 * (--api-key/CONNECTR_API_KEY), so it works on PostgreSQL and PGlite alike, from any machine,
 * and shows the key's project only. Oldest first, as a tail is read; `--follow` then asks
 * again every `--interval` ms with the page's follow_cursor, printing each call once, until
 * Ctrl-C, which ends it with exit 0.
 */

export interface LogsFlags {
  readonly follow?: boolean | undefined;
  readonly connection?: string | undefined;
  readonly connector?: string | undefined;
  readonly status?: string | undefined;
  readonly since?: string | undefined;
  readonly limit?: number | undefined;
  readonly interval?: number | undefined;
  readonly server?: string | undefined;
  readonly apiKey?: string | undefined;
}

/** One call as the daemon lists it (routes/logs/shape.ts), the fields this command prints. */
interface LogEntry {
  readonly at: string;
  readonly connection_id: string;
  readonly connector: string;
  readonly kind: string;
  readonly endpoint: string | null;
  readonly method: string | null;
  readonly path: string | null;
  readonly status: number | null;
  readonly duration_ms: number;
  readonly retries: number;
  readonly error_code: string | null;
  readonly request_id: string;
  readonly [field: string]: unknown;
}

interface LogPage {
  readonly logs: LogEntry[];
  readonly follow_cursor: string;
}

export const DEFAULT_POLL_MS = 1000;
/** The most a followed poll asks for at once (the daemon's page bound). */
const FOLLOW_PAGE = 500;

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: an RFC 3339 time as it is, or a duration back from now (`30s`, `10m`, `2h`, `7d`). */
export function sinceOf(given: string, now: number): string {
  const relative = /^(\d{1,6})([smhd])$/.exec(given.trim());
  if (relative)
    return new Date(now - Number(relative[1]) * (UNITS[relative[2] ?? 's'] ?? 1000)).toISOString();
  const time = Date.parse(given);
  if (!/^\d{4}-\d\d-\d\dT/.test(given) || Number.isNaN(time))
    throw new ConnectrError(
      'usage',
      `--since takes a time (2030-01-01T00:00:00Z) or a duration (30s, 10m, 2h, 7d), not "${given}"`,
    );
  return given;
}

export async function serveLogs(ctx: CliContext, flags: LogsFlags): Promise<void> {
  const daemon = daemonOf(ctx, flags);
  const filters = new URLSearchParams();
  if (flags.connection !== undefined) filters.set('connection_id', flags.connection);
  if (flags.connector !== undefined) filters.set('connector', flags.connector);
  if (flags.status !== undefined) filters.set('status', flags.status);
  if (flags.since !== undefined) filters.set('since', sinceOf(flags.since, Date.now()));
  const first = await pageOf(daemon, filters, { limit: flags.limit ?? 50 });
  // Newest first from the daemon; a tail reads oldest first.
  print(ctx, [...first.logs].reverse());
  if (!flags.follow) return;
  let cursor = first.follow_cursor;
  const every = flags.interval ?? DEFAULT_POLL_MS;
  while (await pause(every, ctx.signal)) {
    let next: LogPage;
    try {
      next = await pageOf(daemon, filters, { limit: FOLLOW_PAGE, cursor });
    } catch (error) {
      if (ctx.signal.aborted) return;
      throw error;
    }
    print(ctx, next.logs);
    cursor = next.follow_cursor;
  }
}

async function pageOf(
  daemon: Daemon,
  filters: URLSearchParams,
  page: { limit: number; cursor?: string },
): Promise<LogPage> {
  const query = new URLSearchParams(filters);
  query.set('limit', String(page.limit));
  if (page.cursor !== undefined) query.set('cursor', page.cursor);
  const json = await daemon.request('GET', `/api/v1/logs?${query.toString()}`);
  if (typeof json !== 'object' || json === null || !Array.isArray((json as LogPage).logs))
    throw new ConnectrError('upstream', `${daemon.base} did not answer with a call log`, {
      hint: 'check --server (or CONNECTR_URL): it must be the address of `connectr serve`',
    });
  return json as LogPage;
}

/** Waits `ms`; false once Ctrl-C came (now or during the wait). */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', done);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function print(ctx: CliContext, entries: readonly LogEntry[]): void {
  for (const entry of entries) {
    if (ctx.out.json) {
      // One JSON value per line, whatever the terminal: what a follower pipes on.
      ctx.out.line(JSON.stringify(entry));
      continue;
    }
    const what = entry.endpoint ?? `${entry.method ?? ''} ${entry.path ?? ''}`;
    const outcome = [
      entry.status === null ? '-' : String(entry.status),
      `${entry.duration_ms} ms`,
      ...(entry.retries > 0 ? [`${entry.retries} retries`] : []),
      ...(entry.error_code === null ? [] : [entry.error_code]),
    ].join('  ');
    // ctx.out.line escapes what the daemon sent (a path may hold anything a caller wrote).
    ctx.out.line(
      `${entry.at}  ${entry.kind.padEnd(7)} ${entry.connector} ${entry.connection_id}  ${what}  ${outcome}  req ${entry.request_id}`,
    );
  }
}
