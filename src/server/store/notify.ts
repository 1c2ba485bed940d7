import type { Client } from 'pg';
import { encodeInvalidation } from '../cache/invalidate.js';
import type { CacheNotices, Invalidation } from '../cache/invalidate.js';
import type { ServerSettings } from '../settings.js';
import { describeUrl, unreachable } from './db.js';
import type { Database } from './db.js';

/**
 * How instances on one PostgreSQL tell each other what they changed (cache/invalidate.ts):
 * NOTIFY on one channel, and one LISTEN connection per instance of its own, not from the pool
 * (a pooled connection is handed to other queries and would miss messages). PGlite has one
 * process, which forgets its own changes: nothing is sent and nothing listens.
 *
 * A message may be lost: sent while the listening connection was down, or by a process that
 * died between its commit and the NOTIFY. Each (re)subscription therefore forgets everything
 * cached, and the cache time (CONNECTR_CACHE_MS) bounds what is missed otherwise.
 */

export const NOTIFY_CHANNEL = 'connectr_cache';
/** How the listening connection shows in pg_stat_activity (unless DATABASE_URL names one). */
export const LISTENER_APPLICATION_NAME = 'connectr-listen';

/** Sends `payload` to every instance listening on the database (after commit: outside a transaction). */
export function notifyPeers(database: Database): ((payload: string) => Promise<void>) | undefined {
  if (database.backend !== 'postgres') return undefined;
  return async (payload) => {
    await database.query('select pg_notify($1, $2)', [NOTIFY_CHANNEL, payload]);
  };
}

/**
 * Tells the instances on `database` of a change made by a process that keeps no cache itself
 * (`connectr serve keys revoke`). Never rejects: a message not sent leaves them on their cache time.
 */
export async function announce(database: Database, change: Invalidation): Promise<void> {
  await notifyPeers(database)?.(encodeInvalidation(change, 'connectr serve keys')).catch(() => undefined);
}

export interface ListenerOptions {
  /** DATABASE_URL. */
  readonly url: string;
  /** The longest a connection attempt may take (CONNECTR_DB_CONNECT_TIMEOUT_MS). */
  readonly connectMs: number;
  /** A message from the channel, unchecked. */
  readonly onMessage: (payload: string) => void;
  /**
   * Listening (again): what was cached may be stale, since messages sent while no connection
   * listened are lost. `again` is false the first time.
   */
  readonly onListening: (again: boolean) => void;
  /** The connection was lost, or could not be made; tried again after `retryMs`. */
  readonly onDown: (error: unknown, retryMs: number) => void;
  /** The first wait before trying again, doubled at each failure up to `maxRetryMs`. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  /**
   * How often the connection is asked a `select 1` while listening (default 30 s): a connection
   * cut without a word (a network partition, a frozen server) is noticed when no answer comes
   * within `connectMs`, rather than after the system's TCP keep-alive (hours).
   */
  readonly heartbeatMs?: number;
  /** How it shows in pg_stat_activity (default LISTENER_APPLICATION_NAME). */
  readonly applicationName?: string;
}

export interface Listener {
  /** Closes the connection and stops trying; resolves at once if it was never made. */
  stop(): Promise<void>;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;
const HEARTBEAT_MS = 30_000;
/** The longest `stop` waits for a polite goodbye before the socket is closed. */
const STOP_WAIT_MS = 1000;

/**
 * Listens on the channel in the background: started without waiting (a slow database does not
 * delay the server's start), made again with backoff when lost. Its timers never keep the
 * process alive; `stop` ends it.
 */
export function startListener(options: ListenerOptions): Listener {
  const firstRetry = options.retryMs ?? FIRST_RETRY_MS;
  const maxRetry = options.maxRetryMs ?? MAX_RETRY_MS;
  let stopped = false;
  let listenedBefore = false;
  let failures = 0;
  let client: Client | undefined;
  /** Whether `client` is connected and listening (else it is still being made). */
  let listening = false;
  let timer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;

  const lost = (from: Client, error: unknown): void => {
    if (client !== from) return;
    client = undefined;
    listening = false;
    clearInterval(heartbeat);
    from.removeAllListeners('notification');
    // Nothing to say goodbye to: the connection failed, or the server ended it.
    from.connection.stream.destroy();
    retry(error);
  };

  const retry = (error: unknown): void => {
    if (stopped) return;
    // Jittered, so that instances cut off together do not all come back at the same moment.
    const wait = Math.min(maxRetry, firstRetry * 2 ** Math.min(failures, 16));
    const retryMs = Math.round(wait / 2 + (Math.random() * wait) / 2);
    failures++;
    options.onDown(error, retryMs);
    timer = setTimeout(connect, retryMs);
    timer.unref();
  };

  const connect = (): void => {
    timer = undefined;
    if (stopped) return;
    void import('pg')
      .then(({ default: pg }) => {
        if (stopped) return;
        const made: Client = new pg.Client({
          connectionString: options.url,
          connectionTimeoutMillis: options.connectMs,
          application_name: options.applicationName ?? LISTENER_APPLICATION_NAME,
          // A host that vanished (no RST) is noticed.
          keepAlive: true,
        });
        client = made;
        made.on('error', (error) => {
          lost(made, error);
        });
        made.on('end', () => {
          lost(made, new Error('the listening connection closed'));
        });
        made.on('notification', (message) => {
          if (message.channel === NOTIFY_CHANNEL && message.payload !== undefined)
            options.onMessage(message.payload);
        });
        made
          .connect()
          .then(() => made.query(`listen ${NOTIFY_CHANNEL}`))
          .then(() => {
            if (client !== made) return;
            listening = true;
            failures = 0;
            heartbeat = beat(made);
            options.onListening(listenedBefore);
            listenedBefore = true;
          })
          .catch((error: unknown) => {
            lost(made, error);
          });
      })
      // pg failing to load, or refusing the URL: tried again like a failed connection.
      .catch(retry);
  };

  /** Asks `made` a trivial question now and then; no answer in time counts as a lost connection. */
  const beat = (made: Client): NodeJS.Timeout => {
    let asking = false;
    const every = setInterval(() => {
      if (asking) return;
      asking = true;
      let late: NodeJS.Timeout | undefined;
      const silence = new Promise<never>((_, reject) => {
        late = setTimeout(() => {
          reject(new Error(`the listening connection did not answer within ${options.connectMs} ms`));
        }, options.connectMs);
        late.unref();
      });
      Promise.race([made.query('select 1'), silence])
        .catch((error: unknown) => {
          lost(made, error);
        })
        .finally(() => {
          clearTimeout(late);
          asking = false;
        });
    }, options.heartbeatMs ?? HEARTBEAT_MS);
    every.unref();
    return every;
  };

  connect();
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      clearInterval(heartbeat);
      const open = client;
      const polite = listening;
      client = undefined;
      listening = false;
      if (open === undefined) return;
      open.removeAllListeners('notification');
      // Still being made (a slow or silent server): nothing to say goodbye to.
      if (polite) await goodbye(open);
      open.connection.stream.destroy();
    },
  };
}

/** Ends a connection politely, or gives up after STOP_WAIT_MS (a server that no longer answers). */
async function goodbye(open: Client): Promise<void> {
  let wait: NodeJS.Timeout | undefined;
  const ended = open.end().catch(() => undefined);
  const late = new Promise<void>((resolve) => {
    wait = setTimeout(resolve, STOP_WAIT_MS);
    wait.unref();
  });
  await Promise.race([ended, late]);
  clearTimeout(wait);
}

/** What the listener logs: the server's logger (pino's shape). */
export interface ListenerLog {
  warn(fields: Record<string, unknown>, message: string): void;
  info(message: string): void;
}

/**
 * The instance's listener on PostgreSQL, feeding `notices` (cache/invalidate.ts); undefined on
 * PGlite. An outage is logged when it starts and when it ends, not at every attempt.
 */
export function listenForChanges(
  database: Database,
  notices: CacheNotices,
  settings: Pick<ServerSettings, 'DATABASE_URL' | 'CONNECTR_DB_CONNECT_TIMEOUT_MS'>,
  log: ListenerLog,
): Listener | undefined {
  const url = settings.DATABASE_URL?.trim();
  if (database.backend !== 'postgres' || !url) return undefined;
  let down = false;
  notices.onRefused = (reason) => {
    log.warn(
      { reason },
      `a message on the ${NOTIFY_CHANNEL} channel was ignored (${reason}); further ones are counted in /metrics`,
    );
  };
  return startListener({
    url,
    connectMs: settings.CONNECTR_DB_CONNECT_TIMEOUT_MS,
    onMessage: (payload) => {
      notices.received(payload);
    },
    onListening: (again) => {
      // Whatever was cached before may have been changed by an instance we did not hear.
      notices.forgetAll();
      if (again) notices.counts.reconnects++;
      if (down) log.info("listening for other instances' changes again; the caches were emptied");
      down = false;
    },
    onDown: (error, retryMs) => {
      if (!down)
        log.warn(
          { err: unreachable(describeUrl(url), error), retryMs },
          "not listening for other instances' changes: their changes are seen after CONNECTR_CACHE_MS until the connection is back",
        );
      down = true;
    },
  });
}
