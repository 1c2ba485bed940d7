import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the rate-limit suites share: a connector limited to 5 requests a second per connection,
 * and its upstream, a real HTTP server on 127.0.0.1 that records when each request arrived.
 */

export const PACED = `name: paced
display_name: Paced
version: 1
docs_url: https://example.com/docs
description: An API that allows 5 requests a second.
hosts:
  api: https://paced.example.com
auth:
  type: api_key
  in: header
  name: X-Api-Key
rate_limit:
  retry_statuses: [429]
  retry_after_headers: [Retry-After]
rate_limits:
  - {scope: connection, requests: 5, per: 1s}
endpoints:
  ping:
    summary: Answers pong.
    method: GET
    path: /ping
  crowded:
    summary: Answers 429 with Retry-After 2 the first time, then pong.
    method: GET
    path: /crowded
`;

export interface Arrival {
  readonly path: string;
  readonly at: number;
}

export interface PacedUpstream {
  readonly url: string;
  readonly arrivals: Arrival[];
  /** The next /crowded answers 429 with Retry-After: 2 (once). */
  crowdOnce(on: boolean): void;
  close(): Promise<void>;
}

export async function startPacedUpstream(): Promise<PacedUpstream> {
  const arrivals: Arrival[] = [];
  let crowded = false;
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    arrivals.push({ path, at: performance.now() });
    if (path === '/crowded' && crowded) {
      crowded = false;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' });
      res.end('{"error":"slow down"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"pong":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrivals,
    crowdOnce: (on) => {
      crowded = on;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The most arrivals in any window of `ms` (each window starting at an arrival). */
export function mostInWindow(times: readonly number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] ?? 0) - (sorted[start] ?? 0) >= ms) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}
