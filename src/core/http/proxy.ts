import { EnvHttpProxyAgent, Pool } from 'undici';
import type { Dispatcher, buildConnector } from 'undici';
import type { Env } from '../paths.js';

/**
 * The dispatcher for a network behind a proxy: HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either
 * case), as curl and most tools honour them; undici alone ignores them. One agent per set of
 * values, so connections are reused across the requests of a command.
 */
let cached: { key: string; agent: Dispatcher } | undefined;

export function proxyDispatcher(env: Env): Dispatcher | undefined {
  const httpProxy = env.HTTP_PROXY || env.http_proxy;
  const httpsProxy = env.HTTPS_PROXY || env.https_proxy;
  const noProxy = env.NO_PROXY || env.no_proxy;
  if (!httpProxy && !httpsProxy) return undefined;
  const key = JSON.stringify([httpProxy, httpsProxy, noProxy]);
  if (cached?.key !== key) {
    cached = {
      key,
      agent: new EnvHttpProxyAgent({
        ...(httpProxy ? { httpProxy } : {}),
        ...(httpsProxy ? { httpsProxy } : {}),
        ...(noProxy ? { noProxy } : {}),
        factory: tunnelPool,
      }),
    };
  }
  return cached.agent;
}

/** The proxy closed the connection before the tunnel to the server was open. */
export class ProxyTunnelError extends Error {
  readonly code = 'CONNECTR_PROXY_CLOSED';
  constructor(cause: Error) {
    super(`the proxy closed the connection before the tunnel was open (${cause.message})`, { cause });
    this.name = 'ProxyTunnelError';
  }
}

/**
 * undici treats a socket error while opening a connection as recoverable and connects again
 * at once, without limit: through a proxy that accepts and then drops every CONNECT, that was
 * a tight loop that ignored --retries, --timeout and Ctrl-C. The pools the proxy agent makes
 * report that failure as an error of their own instead, which fails the waiting request; the
 * engine then retries it with backoff, within its limits.
 */
function tunnelPool(origin: string | URL, opts: object): Dispatcher {
  const options: Pool.Options = opts;
  const connect = options.connect;
  if (typeof connect !== 'function') return new Pool(origin, options);
  return new Pool(origin, { ...options, connect: reportTunnelFailure(connect) });
}

function reportTunnelFailure(connect: buildConnector.connector): buildConnector.connector {
  return (options, callback) => {
    connect(options, (error, socket) => {
      if (error === null) callback(null, socket);
      else callback(isSocketError(error) ? new ProxyTunnelError(error) : error, null);
    });
  };
}

function isSocketError(error: Error): boolean {
  return 'code' in error && error.code === 'UND_ERR_SOCKET';
}
