import type { Endpoint } from '../connector/model.js';
import { ConnectrError } from '../errors.js';
import { headerResult, responseKind } from './response.js';
import type { HttpResponse } from './send.js';

/**
 * An upstream answer read whole and decoded as the endpoint declares it: what a program gets
 * back from one call (the daemon's execute sends it as JSON, the local SDK mode returns it).
 * Any status: an upstream 404 is an answer too, for the caller to judge.
 */
export type Answer = AnswerHead &
  (
    | { readonly encoding: 'none'; readonly body: null }
    | { readonly encoding: 'json'; readonly body: unknown }
    | { readonly encoding: 'text'; readonly body: string }
    | { readonly encoding: 'binary'; readonly body: Buffer }
  );

export interface AnswerHead {
  readonly status: number;
  /** Lower-case names, without cookies and hop-by-hop headers; repeated ones joined by ", ". */
  readonly headers: Record<string, string>;
  readonly content_type: string | null;
  /** The JSON result some APIs put in a header (Dropbox-API-Result), parsed, when declared. */
  readonly result?: unknown;
}

/** Upstream headers that describe one hop or set state in a browser: never passed on. */
export const DROPPED_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-connection',
  'set-cookie',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export interface AnswerLimits {
  /** The largest body read into memory; a larger one is an `upstream` error and is not read on. */
  readonly maxBytes: number;
  /** Where a caller gets a larger answer (streamed), for the error's hint. */
  readonly tooLargeHint: string;
}

export async function readAnswer(
  endpoint: Endpoint,
  response: HttpResponse,
  limits: AnswerLimits,
): Promise<Answer> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined || DROPPED_HEADERS.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const result = headerResult(endpoint, response);
  const head: AnswerHead = {
    status: response.status,
    headers,
    content_type: headers['content-type'] ?? null,
    ...(result === undefined ? {} : { result }),
  };
  const kind = responseKind(endpoint, response);
  if (kind === 'empty') {
    await response.body.dump();
    return { ...head, encoding: 'none', body: null };
  }
  const read = await response.body.head(limits.maxBytes);
  if (!read.complete) {
    read.rest.destroy();
    throw new ConnectrError('upstream', `the upstream answer is larger than ${sizeOf(limits.maxBytes)}`, {
      hint: limits.tooLargeHint,
    });
  }
  if (kind === 'binary') return { ...head, encoding: 'binary', body: read.bytes };
  const text = read.bytes.toString('utf8');
  if (kind === 'json') {
    try {
      return { ...head, encoding: 'json', body: JSON.parse(text) as unknown };
    } catch {
      // Labelled JSON but not: the text as it came.
    }
  }
  return { ...head, encoding: 'text', body: text };
}

function sizeOf(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
