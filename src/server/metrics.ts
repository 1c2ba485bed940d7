/**
 * The server's counters, in the Prometheus text exposition format 0.0.4 (`GET /metrics`).
 * One instance per app, created by `buildApp` (or handed to it), so tests and several apps in
 * one process never share numbers. The HTTP layer records every request; the rest of the
 * server records what it sees upstream through `upstreamResponse` and `tokenRefresh`.
 *
 * Every label value comes from a bounded set (route templates, known methods, status codes,
 * connector names from the registry), never from a raw URL, an id or anything a caller chose,
 * so the number of series stays small and nothing secret lands in a label.
 */

import type { NoticeCounts } from './cache/invalidate.js';

/** Seconds: from a health check (~1 ms) to a slow upstream call. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

type Labels = Readonly<Record<string, string>>;

interface SeriesNode<T> {
  readonly next: Map<string, SeriesNode<T>>;
  entry?: T;
}

/**
 * The series of one metric, found by their labels on every request: a tree with a level for
 * each label's name and one for its value, so a look-up hashes a few short strings, mostly
 * the same constants each time, where building one key string per request (JSON of the
 * labels) cost several times more. Kept in the order they first appeared.
 */
class SeriesMap<T> {
  private readonly root: SeriesNode<T> = { next: new Map() };
  private readonly list: T[] = [];

  /** The series of these labels, made by `create` the first time. */
  find(labels: Labels, create: () => T): T {
    const node = this.node(labels, true);
    if (node === undefined) throw new Error('unreachable: a series node is always made');
    if (node.entry === undefined) {
      node.entry = create();
      this.list.push(node.entry);
    }
    return node.entry;
  }

  get(labels: Labels): T | undefined {
    return this.node(labels, false)?.entry;
  }

  values(): readonly T[] {
    return this.list;
  }

  private node(labels: Labels, make: boolean): SeriesNode<T> | undefined {
    let node: SeriesNode<T> | undefined = this.root;
    for (const name in labels) {
      node = step(node, name, make);
      if (node === undefined) return undefined;
      node = step(node, labels[name] ?? '', make);
      if (node === undefined) return undefined;
    }
    return node;
  }
}

function step<T>(node: SeriesNode<T>, key: string, make: boolean): SeriesNode<T> | undefined {
  let next = node.next.get(key);
  if (next === undefined && make) {
    next = { next: new Map() };
    node.next.set(key, next);
  }
  return next;
}

class Counter {
  private readonly values = new SeriesMap<{ labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels, by = 1): void {
    this.values.find(labels, () => ({ labels, value: 0 })).value += by;
  }

  get(labels: Labels): number {
    return this.values.get(labels)?.value ?? 0;
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const { labels, value } of this.values.values())
      lines.push(`${this.name}${formatLabels(labels)} ${value}`);
  }
}

class Histogram {
  private readonly series = new SeriesMap<{
    labels: Labels;
    counts: number[];
    sum: number;
    count: number;
  }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const entry = this.series.find(labels, () => ({
      labels,
      counts: this.buckets.map(() => 0),
      sum: 0,
      count: 0,
    }));
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= (this.buckets[i] ?? Infinity)) entry.counts[i] = (entry.counts[i] ?? 0) + 1;
    }
    entry.sum += value;
    entry.count++;
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const { labels, counts, sum, count } of this.series.values()) {
      this.buckets.forEach((bound, i) => {
        lines.push(`${this.name}_bucket${formatLabels({ ...labels, le: String(bound) })} ${counts[i] ?? 0}`);
      });
      lines.push(`${this.name}_bucket${formatLabels({ ...labels, le: '+Inf' })} ${count}`);
      lines.push(`${this.name}_sum${formatLabels(labels)} ${sum}`);
      lines.push(`${this.name}_count${formatLabels(labels)} ${count}`);
    }
  }
}

export class Metrics {
  private readonly startedAt: number;
  private readonly requests = new Counter(
    'connectr_http_requests_total',
    'HTTP requests answered, by route template, method and status.',
  );
  private readonly latency = new Histogram(
    'connectr_http_request_duration_seconds',
    'Time from receiving a request to sending its response, by route template, method and status.',
    LATENCY_BUCKETS,
  );
  private readonly upstream = new Counter(
    'connectr_upstream_responses_total',
    'Responses received from upstream APIs, by connector and HTTP status.',
  );
  private readonly refreshes = new Counter(
    'connectr_token_refreshes_total',
    'OAuth access-token refreshes attempted, by connector.',
  );
  private readonly refreshFailures = new Counter(
    'connectr_token_refresh_failures_total',
    'OAuth access-token refreshes that failed, by connector and reason.',
  );

  private readonly webhookDeliveries = new Counter(
    'connectr_webhook_deliveries_total',
    'Webhook delivery attempts made by this instance, by result (success, failure: retried later, gave_up, gone: 410).',
  );
  /** When the oldest event still waiting for a delivery was recorded (ms), as the delivery worker last saw. */
  private oldestUndelivered: number | undefined;

  private readonly providerPushes = new Counter(
    'connectr_provider_events_total',
    "Events received from providers' pushes, by connector and outcome (attributed, unattributed, dropped: no project to give it to).",
  );
  private readonly providerRefusals = new Counter(
    'connectr_provider_events_refused_total',
    "Providers' pushes (or parts of a batch) refused, by connector and reason (bad_signature, stale_timestamp…).",
  );

  /** This instance's messages to and from the others (cache/invalidate.ts), read at each render. */
  private notices: Readonly<NoticeCounts> | undefined;
  private readonly callLogDrops = new Counter(
    'connectr_call_log_dropped_total',
    'Calls left out of the call log because its buffer was full while the database could not be written.',
  );
  private readonly rateLimits = new Counter(
    'connectr_rate_limited_calls_total',
    "Calls held by a connector's rate limits (core/limits), by connector and outcome (delayed: waited their turn; refused: answered 429 rate_limited, nothing sent).",
  );

  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = now() / 1000;
  }

  /** A webhook delivery attempt ended (webhooks/worker.ts). */
  webhookDelivery(result: string): void {
    this.webhookDeliveries.inc({ result });
  }

  /** The oldest event not yet delivered to every endpoint; undefined when none waits. */
  oldestUndeliveredEvent(recordedAt: Date | undefined): void {
    this.oldestUndelivered = recordedAt?.getTime();
  }

  /** One answered request. `route` is the route's template (`/api/v1/connectors/:name`), or undefined when no route matched. */
  observeRequest(method: string, route: string | undefined, status: number, seconds: number): void {
    const labels = {
      method: KNOWN_METHODS.has(method) ? method : 'other',
      route: route ?? 'unmatched',
      status: String(status),
    };
    this.requests.inc(labels);
    this.latency.observe(labels, seconds);
  }

  /** An upstream API answered `status` to a call for `connector` (execute, the raw proxy). */
  upstreamResponse(connector: string, status: number): void {
    this.upstream.inc({ connector, status: String(status) });
  }

  /** A token refresh for `connector` ended: `failure` names why it failed (e.g. "invalid_grant", "network"). */
  tokenRefresh(connector: string, failure?: string): void {
    this.refreshes.inc({ connector });
    if (failure !== undefined) this.refreshFailures.inc({ connector, reason: failure });
  }

  /** An event of a provider's push was verified: given to connections, to none, or dropped. */
  providerEvent(connector: string, outcome: 'attributed' | 'unattributed' | 'dropped'): void {
    this.providerPushes.inc({ connector, outcome });
  }

  /** A provider's push (or a notification of its batch) was refused for `reason` (a bounded set). */
  providerEventRefused(connector: string, reason: string): void {
    this.providerRefusals.inc({ connector, reason });
  }

  /** Shows these counts of cache messages (sent, received, refused; listener reconnects). */
  cacheNotices(counts: Readonly<NoticeCounts>): void {
    this.notices = counts;
  }

  /** Calls the call log dropped (server/call-log/writer.ts). */
  callLogDropped(count: number): void {
    this.callLogDrops.inc({}, count);
  }

  /** A call waited its turn under a rate limit, or was refused one. */
  rateLimited(connector: string, outcome: 'delayed' | 'refused'): void {
    this.rateLimits.inc({ connector, outcome });
  }

  /** The count recorded for these labels (for tests and the bench). */
  requestCount(method: string, route: string, status: number): number {
    return this.requests.get({ method, route, status: String(status) });
  }

  /** The whole exposition, ending with a newline as the format requires. */
  render(): string {
    const lines: string[] = [
      '# HELP connectr_process_start_time_seconds Start time of the server since the Unix epoch, in seconds.',
      '# TYPE connectr_process_start_time_seconds gauge',
      `connectr_process_start_time_seconds ${this.startedAt}`,
    ];
    this.requests.render(lines);
    this.latency.render(lines);
    this.upstream.render(lines);
    this.refreshes.render(lines);
    this.refreshFailures.render(lines);
    this.webhookDeliveries.render(lines);
    lines.push(
      '# HELP connectr_webhook_oldest_undelivered_seconds Age of the oldest event not yet delivered (0 when none waits).',
      '# TYPE connectr_webhook_oldest_undelivered_seconds gauge',
      `connectr_webhook_oldest_undelivered_seconds ${
        this.oldestUndelivered === undefined ? 0 : Math.max(0, (this.now() - this.oldestUndelivered) / 1000)
      }`,
    );
    this.providerPushes.render(lines);
    this.providerRefusals.render(lines);
    if (this.notices) renderNotices(lines, this.notices);
    this.callLogDrops.render(lines);
    this.rateLimits.render(lines);
    return `${lines.join('\n')}\n`;
  }
}

function renderNotices(lines: string[], counts: Readonly<NoticeCounts>): void {
  lines.push(
    '# HELP connectr_cache_notifications_total Cache invalidations told to other instances (sent), acted on from them (received), or ignored as not valid (refused).',
    '# TYPE connectr_cache_notifications_total counter',
    `connectr_cache_notifications_total{event="sent"} ${counts.sent}`,
    `connectr_cache_notifications_total{event="received"} ${counts.received}`,
    `connectr_cache_notifications_total{event="refused"} ${counts.refused}`,
    "# HELP connectr_cache_listener_reconnects_total Times the connection listening for other instances' changes was made again after it was lost.",
    '# TYPE connectr_cache_listener_reconnects_total counter',
    `connectr_cache_listener_reconnects_total ${counts.reconnects}`,
  );
}

/** `{a="x",b="y"}`, with `\`, `"` and newlines escaped as the format requires. */
function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(
    ([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length ? `{${parts.join(',')}}` : '';
}
