import type { Env } from '../paths.js';

/** Whether the environment names a proxy (HTTPS_PROXY / HTTP_PROXY, either case) for requests to go through. */
export function hasProxy(env: Env | undefined): boolean {
  if (!env) return false;
  return Boolean(env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy);
}
