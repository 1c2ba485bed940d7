import { CALL_DEFAULTS } from '../core/calls/defaults.js';
import { requestBody } from '../core/calls/input.js';
import { failureOf, page, prepare, send, succeeded } from '../core/calls/service.js';
import type { CallFailure } from '../core/calls/service.js';
import type { Answer } from '../core/engine/answer.js';
import { readAnswer } from '../core/engine/answer.js';
import type { InvokeDeps, InvokeOptions, PreparedCall } from '../core/engine/invoke.js';
import type { PagePosition } from '../core/engine/paginate.js';
import type { RawBody } from '../core/engine/params.js';
import { responseKind } from '../core/engine/response.js';
import { ConnectrError } from '../core/errors.js';
import type { Env } from '../core/paths.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { CursorSeal } from './cursor.js';
import type { Tool } from './tools.js';

/**
 * One tool call, through the same call service as `connectr call` and the daemon's execute
 * (core/calls: prepare, send, the answer read): the arguments checked against the definition
 * before any credential is read or anything is sent; the answer as MCP content. Everything
 * that goes wrong for the caller (a bad argument, no account, an upstream error) is a result
 * with isError and a message for the agent, never a protocol failure; secrets never appear in
 * it: core/calls' failureOf words it, as the daemon's execute does.
 */

export type Content =
  | { readonly type: 'text'; readonly text: string }
  | {
      readonly type: 'resource';
      readonly resource: { readonly uri: string; readonly mimeType: string; readonly blob: string };
    };

export interface ToolResult {
  readonly content: Content[];
  readonly structuredContent?: Record<string, unknown>;
  readonly isError?: boolean;
}

export interface ToolCallHost {
  readonly env: Env;
  /** The credential source and surroundings of a call (`connection`: the connection argument). */
  depsFor(tool: Tool, connection: string | undefined, signal: AbortSignal): Promise<InvokeDeps>;
  /**
   * The caller's side of an error the host's own layer threw (the daemon's 409 needs_reauth,
   * 502 refreshed_token_rejected): a result with isError, as a ConnectrError is; undefined
   * for a fault, which stays a protocol error with nothing of its cause shown.
   */
  describeError?(
    error: unknown,
  ): { readonly message: string; readonly hint?: string | undefined } | undefined;
  /** The largest binary answer a result carries; larger ones are refused with `tooLargeHint`. */
  readonly maxBinaryBytes: number;
  tooLargeHint(tool: Tool): string;
  readonly options?: InvokeOptions | undefined;
  /** Seals the cursors this host answers, so only those come back (cursor.ts). */
  readonly cursors: CursorSeal;
  /**
   * What the client is told of a failure connectr did not expect (not a ConnectrError), which
   * the host logs: a server's database error quotes its query and values. Absent: the SDK
   * answers with the error's own message (stdio, where the user is the operator).
   */
  readonly internalError?: (error: unknown) => string;
  /** Told how each call given `deps` by depsFor ended: undefined, or its error (the daemon's call log). */
  readonly ended?: (deps: InvokeDeps, error: unknown) => void;
}

/** The most argument JSON a call takes (uploads included): larger is refused unread. */
export const MAX_ARGUMENT_BYTES = 16 * 1024 * 1024;
/** The largest JSON or text answer read into a result. */
const MAX_TEXT_ANSWER = 16 * 1024 * 1024;

export async function callTool(
  tool: Tool,
  args: unknown,
  host: ToolCallHost,
  signal: AbortSignal,
): Promise<ToolResult> {
  try {
    return await run(tool, args, host, signal);
  } catch (error) {
    // A cancelled call has no result: the protocol layer drops it.
    if (signal.aborted) throw error;
    const failure = failureOf(error) ?? host.describeError?.(error);
    if (failure) return failureResult(failure);
    throw error;
  }
}

async function run(tool: Tool, args: unknown, host: ToolCallHost, signal: AbortSignal): Promise<ToolResult> {
  const given = argumentsOf(args);
  const { extra, connector, endpoint } = tool;
  const values: Record<string, unknown> = {};
  let position: PagePosition | undefined;
  let connection: string | undefined;
  const base64Of = new Map([...extra.base64].map(([key, name]) => [name, key]));
  for (const [name, value] of Object.entries(given)) {
    if (name === extra.cursor) position = decodeCursor(value, name, host.cursors, tool.name);
    else if (name === extra.connection) connection = textArgument(value, name);
    else if (base64Of.has(name)) {
      const key = base64Of.get(name) ?? '';
      values[key] = requestBody({ body: given[key], base64: value }, { body: key, base64: name });
    } else if (endpoint.params.some((p) => p.key === name && p.in === 'raw' && p.type === 'file'))
      // A file param takes the content itself here, never a path on this machine.
      values[name] = { kind: 'text', text: textArgument(value, name) } satisfies RawBody;
    else values[name] = value;
  }
  if (extra.connection && !connection)
    throw new ConnectrError('invalid_input', `${extra.connection} is required`, {
      hint: 'give the connection to call with, or choose one for the session',
    });
  // Checked and built before the credential is looked up: a bad value sends nothing.
  const call = prepare({ connector, endpoint, params: values, label: (p) => p.key }, host.env);
  const deps = await host.depsFor(tool, connection, signal);
  try {
    const result = await answerCall(tool, call, deps, position, host);
    host.ended?.(deps, undefined);
    return result;
  } catch (error) {
    host.ended?.(deps, error);
    throw error;
  }
}

async function answerCall(
  tool: Tool,
  call: PreparedCall,
  deps: InvokeDeps,
  position: PagePosition | undefined,
  host: ToolCallHost,
): Promise<ToolResult> {
  const { endpoint } = tool;
  const options = host.options ?? CALL_DEFAULTS;

  if (endpoint.pagination) {
    const found = await page(call, deps, position, options);
    return jsonResult(found.json, found.next ? encodeCursor(found.next, host.cursors, tool.name) : undefined);
  }
  const response = await succeeded(call, await send(call, deps, options));
  const binary = responseKind(endpoint, response) === 'binary';
  const answer = await readAnswer(endpoint, response, {
    maxBytes: binary ? host.maxBinaryBytes : MAX_TEXT_ANSWER,
    tooLargeHint: host.tooLargeHint(tool),
  });
  return answerResult(tool, answer);
}

function argumentsOf(args: unknown): Record<string, unknown> {
  if (args === undefined || args === null) return {};
  if (typeof args !== 'object' || Array.isArray(args))
    throw new ConnectrError('invalid_input', 'the arguments must be a JSON object');
  return args as Record<string, unknown>;
}

function textArgument(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new ConnectrError('invalid_input', `${name} must be a string`);
  return value;
}

function answerResult(tool: Tool, answer: Answer): ToolResult {
  switch (answer.encoding) {
    case 'json':
      return jsonResult(answer.body, undefined);
    case 'text':
      return { content: [{ type: 'text', text: answer.body }] };
    case 'none':
      return {
        content: [
          {
            type: 'text',
            text: `Done: ${tool.connector.displayName} answered HTTP ${answer.status}, with no content.`,
          },
        ],
        ...(answer.result === undefined ? {} : { structuredContent: { result: answer.result } }),
      };
    case 'binary': {
      const content: Content[] = [
        {
          type: 'resource',
          resource: {
            uri: `connectr://${tool.connector.name}/${tool.endpoint.name}`,
            mimeType: answer.content_type ?? 'application/octet-stream',
            blob: answer.body.toString('base64'),
          },
        },
      ];
      // Dropbox's download carries the file's metadata in a header.
      if (answer.result === undefined) return { content };
      return {
        content: [{ type: 'text', text: JSON.stringify({ result: answer.result }) }, ...content],
        structuredContent: { result: answer.result },
      };
    }
  }
}

/** A JSON answer: an object as it is, anything else under `result`; the next page's cursor added. */
function jsonResult(json: unknown, nextCursor: string | undefined): ToolResult {
  const structured: Record<string, unknown> =
    json !== null && typeof json === 'object' && !Array.isArray(json)
      ? { ...(json as Record<string, unknown>) }
      : { result: json };
  if (nextCursor !== undefined) structured.next_cursor = nextCursor;
  return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
}

/** A failure the agent can act on: its words and hint; an API's error answer with its status and body too. */
function failureResult(failure: Pick<CallFailure, 'message' | 'hint' | 'upstream'>): ToolResult {
  const content: Content[] = [
    { type: 'text', text: `${failure.message}${failure.hint ? `\nhint: ${failure.hint}` : ''}` },
  ];
  if (!failure.upstream) return { content, isError: true };
  const { status, body } = failure.upstream;
  return { content, structuredContent: { error: { status, message: failure.message, body } }, isError: true };
}
