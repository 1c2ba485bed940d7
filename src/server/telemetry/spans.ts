import { SpanKind, SpanStatusCode, diag } from '@opentelemetry/api';
import type { Attributes, Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { VERSION } from '../../core/version.js';
import type { CallRow, CallSink } from '../call-log/trace.js';
import type { OtlpSettings } from './otlp.js';

/**
 * Each call as a span (loaded only when OTLP is configured: otlp.ts). The span is made when
 * the call has ended, from the same row the call log stores (so it carries nothing the log
 * does not: never a token, the proxy's query with its secrets removed), with the call's own
 * start and end times. Spans leave in batches on the processor's own timer, and the rest at
 * shutdown (`close`).
 */
/** The longest one export (a batch of spans) may take: a collector that never answers does not hold the shutdown long. */
const EXPORT_TIMEOUT_MS = 5000;

export class SpanSink implements CallSink {
  private readonly provider: TracerProvider;
  private readonly tracer: Tracer;

  constructor(
    settings: OtlpSettings,
    private readonly onError: (error: unknown) => void,
  ) {
    // The SDK reports export failures through its diagnostic logger: to the daemon's log.
    diag.setLogger(
      {
        error: (message: string) => {
          onError(new Error(message));
        },
        warn: () => undefined,
        info: () => undefined,
        debug: () => undefined,
        verbose: () => undefined,
      },
      { suppressOverrideMessage: true },
    );
    const exporter = new OTLPTraceExporter({ url: settings.url, headers: { ...settings.headers } });
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({
        'service.name': settings.serviceName,
        'service.version': VERSION,
      }),
      // An export may wait this long for an unreachable collector, the last one at shutdown too.
      spanProcessors: [new BatchSpanProcessor({ exporter, exportTimeoutMillis: EXPORT_TIMEOUT_MS })],
    });
    this.tracer = this.provider.getTracer('connectr', VERSION);
  }

  record(row: CallRow): void {
    const attributes: Attributes = {
      'connectr.request_id': row.requestId,
      'connectr.project_id': row.projectId,
      'connectr.connection_id': row.connectionId,
      'connectr.connector': row.connector,
      'connectr.call.kind': row.kind,
      'connectr.retries': row.retries,
    };
    if (row.connectorVersion !== null) attributes['connectr.connector_version'] = row.connectorVersion;
    if (row.endpoint !== null) attributes['connectr.endpoint'] = row.endpoint;
    if (row.method !== null) attributes['http.request.method'] = row.method;
    if (row.path !== null) attributes['url.path'] = row.path;
    if (row.status !== null) attributes['http.response.status_code'] = row.status;
    if (row.bytesSent !== null) attributes['http.request.body.size'] = row.bytesSent;
    if (row.bytesReceived !== null) attributes['http.response.body.size'] = row.bytesReceived;
    if (row.errorCode !== null) attributes['error.type'] = row.errorCode;
    const span = this.tracer.startSpan(
      `${row.kind} ${row.connector} ${row.endpoint ?? row.method ?? ''}`.trim(),
      {
        kind: SpanKind.CLIENT,
        startTime: row.at,
        attributes,
      },
    );
    if (row.errorCode !== null || (row.status !== null && row.status >= 500))
      span.setStatus({ code: SpanStatusCode.ERROR, message: row.errorCode ?? `HTTP ${row.status}` });
    span.end(new Date(row.at.getTime() + row.durationMs));
  }

  /** Sends what waits; a collector that does not take it in time costs those spans, not the shutdown. */
  async close(): Promise<void> {
    try {
      await this.provider.shutdown();
    } catch (error) {
      this.onError(error);
    }
  }
}
