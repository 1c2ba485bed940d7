import { EnvHttpProxyAgent } from 'undici';
import type { Dispatcher } from 'undici';
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
      }),
    };
  }
  return cached.agent;
}
