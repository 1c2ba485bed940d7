import type { Endpoint } from '../connector/model.js';
import { readAnswer } from '../engine/answer.js';
import type { Answer, AnswerLimits } from '../engine/answer.js';
import { invoke, invokeAll, invokePage, prepareCall } from '../engine/invoke.js';
import type { InvokeDeps, InvokeOptions, InvokeRequest, PreparedCall } from '../engine/invoke.js';
import type { Page, PageLimits, PagePosition } from '../engine/paginate.js';
import { isErrorAnswer, upstreamError, UpstreamError } from '../engine/response.js';
import type { HttpResponse } from '../engine/send.js';
import { isConnectrError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { Env } from '../paths.js';
import { CALL_DEFAULTS } from './defaults.js';
import { endpointNamed } from './input.js';

/**
 * The one call service every front-end runs (`connectr call`, the daemon's execute, MCP's
 * tools/call, connectr/local): prepare (the endpoint looked up, the values checked, the request
 * built: a bad value sends nothing), invoke (credential, retries, upload sessions, pagination:
 * core/engine/invoke.ts), then read the answer or turn an error answer into an UpstreamError.
 * A front-end maps only its own input onto a CallRequest and the result onto its output.
 */

/** What to call: an InvokeRequest whose endpoint may still be a name the caller typed. */
export interface CallRequest extends Omit<InvokeRequest, 'endpoint' | 'values'> {
  readonly endpoint: Endpoint | string;
  /** Values by param key (absent: none). */
  readonly params?: Readonly<Record<string, unknown>> | undefined;
  /** How the caller lists the endpoints, for the hint of a name that is none of them. */
  readonly listedBy?: string | undefined;
}

/** Looks the endpoint up, checks the values and builds the request; nothing is sent. */
export function prepare(call: CallRequest, env: Env): PreparedCall {
  const { endpoint, params, listedBy, ...rest } = call;
  return prepareCall(
    {
      ...rest,
      endpoint:
        typeof endpoint === 'string' ? endpointNamed(call.connector, endpoint, listedBy ?? '') : endpoint,
      values: params ?? {},
    },
    env,
  );
}

/** The upstream response whatever its status, its body not yet read. */
export function send(
  call: PreparedCall,
  deps: InvokeDeps,
  options: InvokeOptions = CALL_DEFAULTS,
): Promise<HttpResponse> {
  return invoke(call, deps, options);
}

/** How an answer is read: its bounds, and who is told its status before its body is read. */
export interface AnswerReading extends AnswerLimits {
  readonly onStatus?: ((status: number) => void) | undefined;
}

/** The answer read whole and decoded as the endpoint declares it, whatever its status. */
export async function answer(
  call: PreparedCall,
  deps: InvokeDeps,
  reading: AnswerReading,
  options: InvokeOptions = CALL_DEFAULTS,
): Promise<Answer> {
  const response = await send(call, deps, options);
  reading.onStatus?.(response.status);
  return readAnswer(call.request.endpoint, response, reading);
}

/** The response when it succeeded; an error answer becomes the UpstreamError that words it. */
export async function succeeded(call: PreparedCall, response: HttpResponse): Promise<HttpResponse> {
  if (!isErrorAnswer(response)) return response;
  const { connector, endpoint } = call.request;
  throw await upstreamError(connector, endpoint, response);
}

/** Every item of every page, as each arrives, within the limits; an error answer ends it (UpstreamError). */
export function items(
  call: PreparedCall,
  deps: InvokeDeps,
  limits: PageLimits = {},
  options: InvokeOptions = CALL_DEFAULTS,
): AsyncGenerator<unknown, void, undefined> {
  return invokeAll(call, deps, { ...options, ...limits });
}

/** One page at `position` (absent: the first) and where the next is; an error answer is an UpstreamError. */
export async function page(
  call: PreparedCall,
  deps: InvokeDeps,
  position: PagePosition | undefined,
  options: InvokeOptions = CALL_DEFAULTS,
): Promise<Page> {
  const found = await invokePage(call, deps, options, position);
  await succeeded(call, found.response);
  return found;
}

/**
 * A failure as its caller is told it, the same way by every front-end: an error answer of the
 * API with its status and body, or connectr's own refusal with its code and hint. Undefined for
 * a fault connectr did not expect, which a front-end reports without its cause.
 */
export interface CallFailure {
  readonly code: ErrorCode;
  readonly message: string;
  readonly hint?: string | undefined;
  /** When the API answered with an error: its status and body (parsed JSON when it was JSON). */
  readonly upstream?: { readonly status: number; readonly body: unknown } | undefined;
}

export function failureOf(error: unknown): CallFailure | undefined {
  if (!isConnectrError(error)) return undefined;
  const failure = { code: error.code, message: error.message, hint: error.hint };
  return error instanceof UpstreamError
    ? { ...failure, upstream: { status: error.status, body: error.body } }
    : failure;
}
