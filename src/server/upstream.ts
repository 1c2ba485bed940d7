import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { proxyDispatcher } from '../core/http/proxy.js';
import type { Env } from '../core/paths.js';

/**
 * The one HTTP client pool the daemon calls APIs through (execute and the raw proxy): kept-alive
 * connections per upstream for the server's lifetime, through HTTPS_PROXY / HTTP_PROXY when the
 * server's environment names one, as the CLI does.
 */

/** Longest wait for upstream's headers once a request has left, and longest pause in a body (ms). */
export const UPSTREAM_TIMEOUT_MS = 120_000;

export interface Upstream {
  readonly dispatcher: Dispatcher;
  close(): Promise<void>;
}

export function openUpstream(env: Env): Upstream {
  const proxied = proxyDispatcher(env);
  // The proxy agent is shared with the rest of the process (core/http/proxy.ts): not ours to close.
  if (proxied) return { dispatcher: proxied, close: () => Promise.resolve() };
  const agent = new Agent({
    keepAliveTimeout: 30_000,
    headersTimeout: UPSTREAM_TIMEOUT_MS,
    bodyTimeout: UPSTREAM_TIMEOUT_MS,
  });
  return { dispatcher: agent, close: () => agent.close() };
}
