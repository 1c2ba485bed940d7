import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Connector } from '../../core/connector/model.js';
import type { InvokeDeps } from '../../core/engine/invoke.js';
import type { ResponseInfo } from '../../core/engine/send.js';
import { isConnectrError } from '../../core/errors.js';
import { UpstreamError } from '../../core/engine/response.js';
import type { CallKind } from '../store/schema.js';
import { proxyPathOf } from './path.js';

/**
 * One mechanism records every call of the daemon, whatever front-end made it (execute, the
 * raw proxy, an MCP tool): the route begins a trace once it knows the connection, the engine's
 * hooks tell it each answer and retry, and the trace ends when the call's answer has gone (or
 * the tool call returned), handing one row to each sink: the batch writer of the call_logs
 * table, the OpenTelemetry exporter. With no sink, `begin` hands out one shared trace that does
 * nothing, so the request path pays a property read.
 */

/** One call, as the call_logs table and a span hold it. */
export interface CallRow {
  readonly at: Date;
  readonly projectId: string;
  readonly connectionId: string;
  readonly connector: string;
  readonly connectorVersion: number | null;
  readonly kind: CallKind;
  readonly endpoint: string | null;
  readonly method: string | null;
  readonly path: string | null;
  readonly status: number | null;
  readonly durationMs: number;
  readonly bytesSent: number | null;
  readonly bytesReceived: number | null;
  readonly retries: number;
  readonly errorCode: string | null;
  readonly requestId: string;
}

/** Where ended calls go. `record` is on the request path: it must not wait for anything. */
export interface CallSink {
  record(row: CallRow): void;
  /** Writes what is held (at shutdown). */
  close(): Promise<void>;
}

/** The connection a call goes through, as the routes have it. */
export interface CalledConnection {
  readonly id: string;
  readonly projectId: string;
  readonly connector: string;
}

/** What a route knows when the call starts. */
export type CallStart =
  | {
      readonly kind: 'execute' | 'mcp';
      readonly connection: CalledConnection;
      readonly connector: Connector;
      readonly endpoint: string;
    }
  | {
      readonly kind: 'proxy';
      readonly connection: CalledConnection;
      readonly connector: Connector;
      readonly method: string;
      /** The path below the host's base URL and the query, as the caller wrote them. */
      readonly path: string;
      readonly query: string;
      /** The upload's bytes so far (the route counts them as they pass). */
      readonly sent: () => number | undefined;
    };

/** What a route tells a trace; every method does nothing when the log is off. */
export interface CallTrace {
  /** The engine's dependencies with this trace told of each answer and retry. */
  deps(deps: InvokeDeps): InvokeDeps;
  /** An upstream status (the raw proxy's answers, a replayed one's too). */
  status(status: number): void;
  /**
   * The raw proxy's answer, about to be streamed to the caller: its bytes are its Content-Length,
   * or counted as they pass when it has none (chunked). Counting every answer's chunks cost the
   * proxy a listener call per chunk.
   */
  body(headers: Readonly<Record<string, string | string[] | undefined>>, body: Readable): void;
  /** Why the call failed: its code goes in the row (an upstream error answer keeps none). */
  fail(error: unknown): void;
  /** Ends the call now; later calls of end do nothing. */
  end(error?: unknown): void;
}

const NO_TRACE: CallTrace = {
  deps: (deps) => deps,
  status: () => undefined,
  body: () => undefined,
  fail: () => undefined,
  end: () => undefined,
};

export class CallLog {
  /** The trace of each request in flight, for the error hook (install). */
  private readonly byRequest = new WeakMap<object, ActiveTrace>();
  /** The trace an MCP tool call's engine dependencies belong to (`ended`). */
  private readonly byDeps = new WeakMap<object, ActiveTrace>();

  constructor(
    private readonly sinks: readonly CallSink[],
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether anything is recorded at all. */
  get on(): boolean {
    return this.sinks.length > 0;
  }

  /**
   * Begins the trace of a call made for `request`; it ends when `reply`'s answer has gone (or
   * the connection closed), unless `end` came first (an MCP tool call returning).
   */
  begin(request: FastifyRequest, reply: FastifyReply, start: CallStart): CallTrace {
    if (this.sinks.length === 0) return NO_TRACE;
    const trace = new ActiveTrace(this, start, request.id, this.now());
    this.byRequest.set(request, trace);
    const answer = reply.raw;
    answer.once('close', () => {
      // An answer cut short did not carry the length its headers declared.
      if (!answer.writableFinished) trace.cutShort();
      trace.end();
    });
    return trace;
  }

  /** Fastify's onError hook: the error a route threw, for the trace of its request. */
  failed(request: FastifyRequest, error: unknown): void {
    this.byRequest.get(request)?.fail(error);
  }

  /** An MCP tool call that used `deps` ended (src/mcp/call.ts ToolCallHost.ended). */
  ended(deps: InvokeDeps, error: unknown): void {
    this.byDeps.get(deps)?.end(error);
  }

  /** @internal */
  track(deps: InvokeDeps, trace: ActiveTrace): void {
    this.byDeps.set(deps, trace);
  }

  /** @internal */
  write(row: CallRow): void {
    for (const sink of this.sinks) sink.record(row);
  }

  /** @internal */
  elapsed(since: number): number {
    return Math.max(0, Math.round(this.now() - since));
  }

  /** Writes what the sinks hold (at shutdown). */
  async close(): Promise<void> {
    await Promise.all(this.sinks.map((sink) => sink.close()));
  }
}

class ActiveTrace implements CallTrace {
  private lastStatus: number | null = null;
  private retries = 0;
  private bytesSent: number | null = null;
  private errorCode: string | null = null;
  private declared: number | null = null;
  private done = false;
  private received = 0;
  private counted = false;

  constructor(
    private readonly log: CallLog,
    private readonly start: CallStart,
    private readonly requestId: string,
    private readonly startedAt: number,
  ) {}

  deps(deps: InvokeDeps): InvokeDeps {
    const { onRetry, onResponse } = deps;
    const traced: InvokeDeps = {
      ...deps,
      onRetry: (info) => {
        this.retries++;
        onRetry?.(info);
      },
      onResponse: (info: ResponseInfo) => {
        this.lastStatus = info.status;
        if (info.sent !== undefined) this.bytesSent = info.sent;
        this.declared = declaredLength(info.headers);
        onResponse?.(info);
      },
    };
    this.log.track(traced, this);
    return traced;
  }

  status(status: number): void {
    this.lastStatus = status;
  }

  body(headers: Readonly<Record<string, string | string[] | undefined>>, body: Readable): void {
    this.declared = declaredLength(headers);
    if (this.declared !== null) return;
    this.counted = true;
    body.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
    });
  }

  cutShort(): void {
    this.declared = null;
  }

  fail(error: unknown): void {
    // An error answer of the API is its status, already recorded: no code of connectr's.
    if (error instanceof UpstreamError) return;
    this.errorCode = isConnectrError(error) ? error.code : 'internal';
  }

  end(error?: unknown): void {
    if (this.done) return;
    this.done = true;
    if (error !== undefined) this.fail(error);
    const { start } = this;
    const proxy = start.kind === 'proxy';
    const sent = proxy ? (start.sent() ?? 0) : this.bytesSent;
    this.log.write({
      at: new Date(this.startedAt),
      projectId: start.connection.projectId,
      connectionId: start.connection.id,
      connector: start.connection.connector,
      // The version the call ran with: the connection's pinned one (registry.get(name, version)).
      connectorVersion: start.connector.version,
      kind: start.kind,
      endpoint: proxy ? null : start.endpoint,
      method: proxy ? start.method : null,
      path: proxy ? proxyPathOf(start.connector, start.path, start.query) : null,
      status: this.lastStatus,
      durationMs: this.log.elapsed(this.startedAt),
      bytesSent: sent,
      bytesReceived: this.counted ? this.received : this.declared,
      retries: this.retries,
      errorCode: this.errorCode,
      requestId: this.requestId,
    });
  }
}

/** A Content-Length header's value, when it is one. */
function declaredLength(headers: Readonly<Record<string, string | string[] | undefined>>): number | null {
  const length = headers['content-length'];
  const bytes = typeof length === 'string' ? Number(length) : NaN;
  return Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : null;
}
