import type { Env } from '../../core/paths.js';
import type { CallSink } from '../call-log/trace.js';

/**
 * OpenTelemetry, off unless asked for: with OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set, each call of the daemon is also a span sent over
 * OTLP/HTTP (JSON) to that collector. The @opentelemetry packages are imported only then
 * (spans.ts, by a dynamic import): a daemon without the variable loads none of them and does
 * no span work at all.
 */

export interface OtlpSettings {
  /** Where spans are POSTed: the traces endpoint itself. */
  readonly url: string;
  readonly serviceName: string;
  /** OTEL_EXPORTER_OTLP_HEADERS (and _TRACES_HEADERS): e.g. a collector's API key. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Whether the span module was loaded in this process (tests check that it was not when off). */
let loaded = false;
export const spanModuleLoaded = (): boolean => loaded;

/** The exporter's settings from the standard variables; undefined: no OpenTelemetry. */
export function otlpSettings(env: Env): OtlpSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  // As the specification says: the signal's own variable is used as it is, the general one
  // gets /v1/traces appended.
  const url = traces || (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (!url) return undefined;
  return {
    url,
    serviceName: env.OTEL_SERVICE_NAME?.trim() || 'connectr',
    headers: {
      ...headerList(env.OTEL_EXPORTER_OTLP_HEADERS),
      ...headerList(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
    },
  };
}

/** `key1=value1,key2=value2`, values percent-encoded (the specification's W3C baggage form). */
function headerList(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim().toLowerCase();
    let value = pair.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // kept as written
    }
    // A name only of token characters, a value without CR/LF: nothing else goes in a header.
    if (/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name) && !/[\r\n\0]/.test(value)) headers[name] = value;
  }
  return headers;
}

/** The span exporter as a call sink; its packages are loaded now, not before. */
export async function openSpanSink(
  settings: OtlpSettings,
  onError: (error: unknown) => void,
): Promise<CallSink> {
  loaded = true;
  const { SpanSink } = await import('./spans.js');
  return new SpanSink(settings, onError);
}
