import type { Dispatcher } from 'undici';
import { messageOf } from '../../core/errors.js';
import { signatureHeader } from './signing.js';

/**
 * One delivery attempt: a signed POST (Standard Webhooks headers) that succeeds on any 2xx
 * within the time limit. Redirects are not followed (a 3xx is a failure: the receiver must give
 * its final URL), and at most MAX_RESPONSE_BYTES of the answer are read, then the connection is
 * dropped: a receiver cannot make the daemon hold or read much.
 */

export const MAX_RESPONSE_BYTES = 4096;

export interface AttemptInput {
  readonly url: string;
  readonly eventId: string;
  readonly body: string;
  readonly secrets: readonly string[];
  /** Unix seconds of this attempt: the webhook-timestamp header. */
  readonly timestampSeconds: number;
  readonly timeoutMs: number;
  readonly dispatcher: Dispatcher;
}

export interface AttemptOutcome {
  readonly ok: boolean;
  /** The receiver's status; undefined when none arrived. */
  readonly status: number | undefined;
  readonly latencyMs: number;
  /** Why it failed, in connectr's words (no receiver text, no secret). */
  readonly error: string | undefined;
}

export async function attemptDelivery(input: AttemptInput): Promise<AttemptOutcome> {
  const started = performance.now();
  const signal = AbortSignal.timeout(input.timeoutMs);
  const elapsed = (): number => Math.round(performance.now() - started);
  try {
    const { statusCode, body } = await input.dispatcher.request({
      origin: new URL(input.url).origin,
      path: pathOf(input.url),
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'connectr-webhooks',
        'webhook-id': input.eventId,
        'webhook-timestamp': String(input.timestampSeconds),
        'webhook-signature': signatureHeader(
          input.secrets,
          input.eventId,
          input.timestampSeconds,
          input.body,
        ),
      },
      body: input.body,
      signal,
    });
    await readBounded(body, signal);
    const ok = statusCode >= 200 && statusCode < 300;
    return {
      ok,
      status: statusCode,
      latencyMs: elapsed(),
      error: ok
        ? undefined
        : statusCode >= 300 && statusCode < 400
          ? `HTTP ${statusCode}: a redirect, not followed (give the receiver's final URL)`
          : `HTTP ${statusCode}`,
    };
  } catch (error) {
    return {
      ok: false,
      status: undefined,
      latencyMs: elapsed(),
      error: signal.aborted
        ? `no answer within ${input.timeoutMs} ms`
        : `the request failed: ${networkReason(error)}`,
    };
  }
}

function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

/** Reads up to MAX_RESPONSE_BYTES of the answer and drops the rest (and the connection, when more came). */
async function readBounded(body: Dispatcher.ResponseData['body'], signal: AbortSignal): Promise<void> {
  let read = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      read += chunk.length;
      if (read > MAX_RESPONSE_BYTES || signal.aborted) break;
    }
  } finally {
    if (read > MAX_RESPONSE_BYTES) body.destroy();
  }
}

/** The error's code or message, short: never the receiver's text. */
function networkReason(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (typeof code === 'string' && code !== 'UND_ERR') return code;
  if (typeof cause?.code === 'string') return cause.code;
  return messageOf(error).slice(0, 200);
}
